"""The searchable form of a catalogue: evidence texts and per-supplier facts.

A supplier's evidence is its description and each distinct past contract object; each
becomes one row of the dense index. Its lexical document is all of that plus the labels
of its CPV codes. Facts used by ranking and filters (CPV codes, buyers served, their
départements, segments, region, tags) are gathered here once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .cpv import CpvVocabulary
from .keyed_index import evidence_key
from .schema import Supplier
from .text import fold, repair

MAX_DESCRIPTION_CHARS = 2_000


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


class Corpus:
    """Suppliers, their evidence rows and their facts, in a fixed order."""

    def __init__(self, suppliers: list[Supplier], cpv: CpvVocabulary | None = None) -> None:
        self.cpv = cpv or CpvVocabulary()
        self.suppliers = sorted(suppliers, key=lambda s: s.supplier_id)
        self.position = {s.supplier_id: i for i, s in enumerate(self.suppliers)}
        self.evidence: list[Evidence] = []
        self.facts: list[SupplierFacts] = []
        self.documents: list[str] = []
        for i, supplier in enumerate(self.suppliers):
            self._add(i, supplier)
        self.evidence_supplier = np.asarray([e.supplier for e in self.evidence], dtype=np.int64)
        #: stable key of each evidence row (supplier id + encoder text): its slot in the dense index
        self.evidence_keys = np.fromiter(
            (evidence_key(self.suppliers[e.supplier].supplier_id, e.embed_text) for e in self.evidence), dtype=np.int64, count=len(self.evidence)
        )
        self.supplier_rows: list[np.ndarray] = [np.zeros(0, np.int64)] * len(self.suppliers)
        if len(self.evidence):
            order = np.argsort(self.evidence_supplier, kind="stable")
            bounds = np.searchsorted(self.evidence_supplier[order], np.arange(len(self.suppliers) + 1))
            self.supplier_rows = [order[bounds[i] : bounds[i + 1]] for i in range(len(self.suppliers))]

    def __len__(self) -> int:
        return len(self.suppliers)

    def _add(self, i: int, supplier: Supplier) -> None:
        facts = SupplierFacts(codes=set(supplier.cpv))
        lexical = [supplier.name]
        if supplier.description:
            text = repair(supplier.description)[:MAX_DESCRIPTION_CHARS]
            self.evidence.append(Evidence(i, "description", text, text))
            lexical.append(text)
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
            if ref.date:
                year = int(ref.date[:4]) + (int(ref.date[5:7]) - 1) / 12 + (int(ref.date[8:10]) - 1) / 365
                facts.last_year = year if facts.last_year is None else max(facts.last_year, year)
            text = repair(ref.objet)
            key = fold(text)
            if key in seen:
                continue
            seen.add(key)
            label = self.cpv.label(ref.cpv) if ref.cpv else ""
            embed_text = f"{text} ({label})" if label and fold(label) not in key else text
            self.evidence.append(
                Evidence(i, "reference", text, embed_text, ref.cpv, ref.buyer_id, ref.buyer_name, ref.date, ref.amount)
            )
            lexical.append(embed_text)
        positive = [a for a in facts.amounts if a > 0]
        if positive:
            facts.log_amount = float(np.median(np.log10(positive)))
        for code in supplier.cpv:
            label = self.cpv.label(code)
            if label:
                lexical.append(label)
        self.facts.append(facts)
        self.documents.append(" ".join(lexical))

    def fingerprint(self) -> str:
        """Hash of everything the dense index depends on: the set of evidence keys (ids and texts)."""
        return hashlib.sha256(np.unique(self.evidence_keys).tobytes()).hexdigest()[:16]

    def index_texts(self) -> tuple[np.ndarray, list[str]]:
        """The distinct evidence keys and the text the encoder gets for each (what the dense index holds)."""
        texts: dict[int, str] = {}
        for key, e in zip(self.evidence_keys.tolist(), self.evidence):
            texts.setdefault(key, e.embed_text)
        return np.fromiter(texts, dtype=np.int64, count=len(texts)), list(texts.values())
