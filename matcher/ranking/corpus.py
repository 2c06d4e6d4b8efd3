"""The searchable form of a catalogue: evidence texts and per-supplier facts.

A supplier's evidence is its description (its first 2,000 characters, then passages of the rest
of a long one) and each distinct past contract object; each becomes one row of the dense index. Its lexical document is all of that plus the labels
of its CPV codes. Facts used by ranking and filters (CPV codes, buyers served, their
départements, segments, region, tags) are gathered here once.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import itertools
import secrets
from dataclasses import dataclass, field

import numpy as np

from matcher.data.cpv import CpvVocabulary
from matcher.data.fields import fractional_year
from matcher.data.schema import Supplier
from matcher.data.text import fold, repair, sentences
from matcher.index.keyed import evidence_key

#: the description's first row: what the encoder reads of it as a whole (~512 tokens)
MAX_DESCRIPTION_CHARS = 2_000
#: how much of a long description is searched at all (its first row, then passages; and BM25)
MAX_SEARCHED_DESCRIPTION_CHARS = 12_000
#: the length a passage of the rest of a long description aims at (whole sentences, ~250 tokens)
PASSAGE_CHARS = 1_000


def passages(text: str, start: int = MAX_DESCRIPTION_CHARS, limit: int = MAX_SEARCHED_DESCRIPTION_CHARS) -> list[str]:
    """The rest of a long description past its first ``start`` characters, as passages of whole
    sentences of about ``PASSAGE_CHARS`` each (the sentence that straddles ``start`` opens the
    first one); nothing for a description that fits its first row."""
    if len(text) <= start:
        return []
    text = text[:limit]
    cut = text.rfind(". ", 0, start)
    rest = text[cut + 2 if cut > 0 else start :]
    out, current = [], ""
    for sentence in sentences(rest):
        if current and len(current) + 1 + len(sentence) > PASSAGE_CHARS:
            out.append(current)
            current = ""
        current = f"{current} {sentence}".strip() if current else sentence[: 2 * PASSAGE_CHARS]
    if current:
        out.append(current)
    return out


def buyer_department(buyer_id: str) -> str | None:
    """The département of a French local public body read from its SIREN/SIRET, else ``None``.

    Local authorities and their bodies have SIRENs ``2xDD…`` (21 communes, 22 départements,
    24 EPCI, 25 syndicats, 26–28 local public establishments …) where ``DD`` is the
    département (``2A``/``2B`` appear as ``20``).
    """
    digits = (buyer_id or "").strip()
    if len(digits) < 9 or not digits[:9].isdigit() or digits[0] != "2" or digits[1] not in "12345678":
        return None
    return digits[2:4]


def buyer_kind(buyer_id: str) -> str | None:
    """The legal category of a public buyer from its SIREN's first two digits (21 communes, 26 hospitals …)."""
    digits = (buyer_id or "").strip()
    if len(digits) < 9 or not digits[:9].isdigit():
        return None
    return digits[:2]


@dataclass
class Evidence:
    """One text that shows what a supplier can do."""

    supplier: int  # row of the supplier in the corpus
    kind: str  # "description" or "reference"
    text: str  # readable text (shown to buyers)
    embed_text: str  # text given to the encoder
    cpv: str | None = None
    buyer_id: str = ""
    buyer_name: str = ""
    date: str | None = None
    amount: float | None = None


@dataclass
class SupplierFacts:
    codes: set[str] = field(default_factory=set)
    buyers: set[str] = field(default_factory=set)
    departments: set[str] = field(default_factory=set)
    buyer_kinds: set[str] = field(default_factory=set)
    amounts: list[float] = field(default_factory=list)
    n_references: int = 0
    last_year: float | None = None  # date of its latest contract, in fractional years
    log_amount: float | None = None  # median log10 of its contract amounts


@dataclass(frozen=True)
class SupplierEntry:
    """What the corpus derives from one supplier record: computed once, reused while the record is unchanged."""

    supplier: Supplier
    evidence: tuple[Evidence, ...]  # ``Evidence.supplier`` is set to the supplier's row when a corpus is assembled
    keys: tuple[int, ...]  # evidence_key of each evidence text
    facts: SupplierFacts
    document: str  # the lexical document


def supplier_entry(supplier: Supplier, cpv: CpvVocabulary) -> SupplierEntry:
    """The evidence texts, facts and lexical document of one supplier."""
    facts = SupplierFacts(codes=set(supplier.cpv))
    evidence: list[Evidence] = []
    lexical = [supplier.name]
    if supplier.description:
        full = repair(supplier.description)
        text = full[:MAX_DESCRIPTION_CHARS]
        evidence.append(Evidence(-1, "description", text, text))
        # a long description is searched in passages too: the part that answers a need may be past its first row
        evidence.extend(Evidence(-1, "description", passage, passage) for passage in passages(full))
        lexical.append(full[:MAX_SEARCHED_DESCRIPTION_CHARS])
    seen: set[str] = set()
    for ref in supplier.references:
        facts.n_references += 1
        if ref.cpv:
            facts.codes.add(ref.cpv)
        if ref.buyer_id:
            facts.buyers.add(ref.buyer_id)
            dept = buyer_department(ref.buyer_id)
            if dept:
                facts.departments.add(dept)
            kind = buyer_kind(ref.buyer_id)
            if kind:
                facts.buyer_kinds.add(kind)
        if ref.amount:
            facts.amounts.append(ref.amount)
        year = fractional_year(ref.date)
        if year is not None:
            facts.last_year = year if facts.last_year is None else max(facts.last_year, year)
        text = repair(ref.objet)
        key = fold(text)
        if key in seen:
            continue
        seen.add(key)
        label = cpv.label(ref.cpv) if ref.cpv else ""
        embed_text = f"{text} ({label})" if label and fold(label) not in key else text
        evidence.append(Evidence(-1, "reference", text, embed_text, ref.cpv, ref.buyer_id, ref.buyer_name, ref.date, ref.amount))
        lexical.append(embed_text)
    positive = [a for a in facts.amounts if a > 0]
    if positive:
        facts.log_amount = float(np.median(np.log10(positive)))
    for code in supplier.cpv:
        label = cpv.label(code)
        if label:
            lexical.append(label)
    keys = tuple(evidence_key(supplier.supplier_id, e.embed_text) for e in evidence)
    return SupplierEntry(supplier, tuple(evidence), keys, facts, " ".join(lexical))


def _at_row(evidence: Evidence, row: int) -> Evidence:
    """A copy of ``evidence`` for the supplier at ``row`` (entries are shared between corpora: never mutated)."""
    moved = copy.copy(evidence)
    moved.supplier = row
    return moved


class RowRanges:
    """The evidence rows of each supplier (contiguous): ``rows[i]`` is an array of row ids."""

    def __init__(self, starts: np.ndarray) -> None:
        self.starts = starts  # len(suppliers) + 1 bounds

    def __len__(self) -> int:
        return len(self.starts) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        return np.arange(self.starts[i], self.starts[i + 1], dtype=np.int64)

    def rows_of(self, suppliers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The rows of several suppliers, concatenated in their order, and how many each has."""
        suppliers = np.asarray(suppliers, dtype=np.int64)
        starts, counts = self.starts[suppliers], self.starts[suppliers + 1] - self.starts[suppliers]
        offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        return np.repeat(starts, counts) + offsets, counts


class Corpus:
    """Suppliers, their evidence rows and their facts, in a fixed order (by supplier id).

    ``Corpus(suppliers, cpv, reuse=earlier)`` reuses the entries of ``earlier`` for the suppliers
    that are the very records it holds (:meth:`updated` passes them on): only new or edited suppliers are
    processed again, and ``previous_rows`` maps each supplier row to its row in ``earlier`` (-1:
    new or edited), which lets the lexical index reuse its work too.
    """

    def __init__(self, suppliers: list[Supplier], cpv: CpvVocabulary | None = None, reuse: Corpus | None = None) -> None:
        self.cpv = cpv if cpv is not None else CpvVocabulary()
        previous = reuse.entries if reuse is not None and reuse.cpv is self.cpv else {}
        self.suppliers = sorted(suppliers, key=lambda s: s.supplier_id)
        self.position = {s.supplier_id: i for i, s in enumerate(self.suppliers)}
        if len(self.position) != len(self.suppliers):
            twice = next(a.supplier_id for a, b in zip(self.suppliers, self.suppliers[1:]) if a.supplier_id == b.supplier_id)
            raise ValueError(f"supplier_id: {twice!r} appears twice in the corpus")
        self.entries: dict[str, SupplierEntry] = {}
        #: for each supplier row, its row in the corpus it was derived from (-1: recomputed)
        self.previous_rows = np.full(len(self.suppliers), -1, dtype=np.int64)
        #: identifies this corpus, and the one it reused entries from ("" if none)
        self.version = secrets.token_hex(8)
        self.derived_from = reuse.version if previous and reuse is not None else ""
        for i, supplier in enumerate(self.suppliers):
            entry = previous.get(supplier.supplier_id)
            if entry is not None and entry.supplier is supplier:
                self.previous_rows[i] = reuse.position[supplier.supplier_id]  # type: ignore[union-attr]
            else:
                entry = supplier_entry(supplier, self.cpv)
            self.entries[supplier.supplier_id] = entry
        entries = list(self.entries.values())
        counts = np.fromiter((len(e.evidence) for e in entries), dtype=np.int64, count=len(entries))
        self.evidence: list[Evidence] = [ev if ev.supplier == i else _at_row(ev, i) for i, e in enumerate(entries) for ev in e.evidence]
        self.facts: list[SupplierFacts] = [e.facts for e in entries]
        self.documents: list[str] = [e.document for e in entries]
        self.evidence_supplier = np.repeat(np.arange(len(entries), dtype=np.int64), counts)
        #: stable key of each evidence row (supplier id + encoder text): its slot in the dense index
        self.evidence_keys = np.fromiter(itertools.chain.from_iterable(e.keys for e in entries), dtype=np.int64, count=int(counts.sum()))
        self.supplier_rows = RowRanges(np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))

    def updated(self, changed: list[Supplier], removed: list[str]) -> Corpus:
        """A new corpus with ``changed`` suppliers added or replaced and ``removed`` ids gone; the rest reused."""
        drop = set(removed) | {s.supplier_id for s in changed}
        kept = [s for s in self.suppliers if s.supplier_id not in drop]
        return Corpus(kept + list(changed), self.cpv, reuse=self)

    def __len__(self) -> int:
        return len(self.suppliers)

    @functools.cached_property
    def folded_names(self) -> list[str]:
        """Each supplier's name folded (``text.fold``: no accents or case) and its spaces collapsed, for name searches."""
        return [" ".join(fold(s.name).split()) for s in self.suppliers]

    def fingerprint(self) -> str:
        """Hash of everything the dense index depends on: the set of evidence keys (ids and texts)."""
        return hashlib.sha256(np.unique(self.evidence_keys).tobytes()).hexdigest()[:16]

    def index_texts(self) -> tuple[np.ndarray, list[str]]:
        """The distinct evidence keys and the text the encoder gets for each (what the dense index holds)."""
        texts: dict[int, str] = {}
        for key, e in zip(self.evidence_keys.tolist(), self.evidence):
            texts.setdefault(key, e.embed_text)
        return np.fromiter(texts, dtype=np.int64, count=len(texts)), list(texts.values())
