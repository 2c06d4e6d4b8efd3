"""Text-only benchmarks: start-ups found by what they say they do, with no award history to lean on.

Three builders, each writing the FORMATS.md benchmark layout (``suppliers.jsonl``, ``needs.jsonl``,
``qrels.tsv``, ``slices.tsv``):

``ilab_pitch``
    i-Lab laureates (MESR open data): the need is a laureate's one-line pitch (``moto``), the right
    answer the laureate, whose supplier record is its company name and summary (``resume``).
    Lexically easy: pitch and summary share their key terms.
``ilab_long``
    The harder view, closer to real problem statements: the summary is cut in two at a sentence
    boundary; the supplier holds the name, the pitch and the first part, the need is the rest
    with the company's and project's names removed and the rare words it shares with its own
    supplier text removed too (those that appear in under 1 % of the pool's texts) — a long text
    that says the same thing with other words.
``text_only_view``
    Any benchmark stripped to its texts: needs keep their title and description (no CPV, buyer,
    segment, region, amount), suppliers their name, description and the objects of their past
    contracts (no codes, buyers, dates or amounts): what a ranking can use when nobody has a
    contract history.

Both i-Lab builders split in time: laureates of ``held_out_from`` and later are the evaluation
needs, earlier ones a disjoint training benchmark for the text-only scorer. Each laureate is a
supplier of both pools (a pitch is matched against every laureate since ``pool_from``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matcher.data.fields import decode_entities
from matcher.data.ingest import read_rows
from matcher.data.text import fold, sentences, words

#: words shared with the right answer that appear in fewer texts of the pool than this share are removed from a long need
RARE_SHARE = 0.01
_WORD = re.compile(r"[^\W_]+")  # letters and digits: the words `matcher.data.text.words` reads


@dataclass
class Laureate:
    """One i-Lab laureate with a pitch and a summary."""

    ident: str
    year: int
    name: str
    project: str
    pitch: str
    summary: str
    domain: str
    region: str


@dataclass
class TextBenchmark:
    """A benchmark as records (written in the FORMATS.md layout by ``write``)."""

    suppliers: list[dict[str, Any]]
    needs: list[dict[str, Any]]
    qrels: list[tuple[str, str, int]]
    slices: list[tuple[str, str]] = field(default_factory=list)

    def write(self, folder: str | Path) -> Path:
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, records in (("suppliers", self.suppliers), ("needs", self.needs)):
            with (folder / f"{name}.jsonl").open("w", encoding="utf-8") as handle:
                handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        (folder / "qrels.tsv").write_text(
            "need_id\tsupplier_id\trelevance\n" + "".join(f"{n}\t{s}\t{g}\n" for n, s, g in self.qrels), encoding="utf-8"
        )
        if self.slices:
            (folder / "slices.tsv").write_text("need_id\tslice\n" + "".join(f"{n}\t{s}\n" for n, s in self.slices), encoding="utf-8")
        return folder


def read_laureates(path: str | Path) -> list[Laureate]:
    """Laureates with both a pitch and a summary, each pitch and each summary kept once (a duplicate
    would be a second right answer), in file order."""
    out: list[Laureate] = []
    seen: set[str] = set()
    for _, row in read_rows(path):
        if not isinstance(row, dict):
            continue
        pitch, summary = decode_entities(row.get("moto")), decode_entities(row.get("resume"))
        year = decode_entities(row.get("annee"))
        ident = decode_entities(row.get("identifiant"))
        if not pitch or not summary or not year.isdigit() or not ident:
            continue
        keys = (f"p:{pitch.casefold()}", f"s:{summary.casefold()}")
        if any(k in seen for k in keys):
            continue
        seen.update(keys)
        out.append(
            Laureate(
                ident=ident,
                year=int(year),
                name=decode_entities(row.get("entreprise")),
                project=decode_entities(row.get("projet")),
                pitch=pitch,
                summary=summary,
                domain=decode_entities(row.get("domaine_technologique")),
                region=decode_entities(row.get("region")),
            )
        )
    return out


def _supplier_id(lau: Laureate) -> str:
    return f"ilab-{lau.ident}"


def _label(lau: Laureate) -> str:
    return lau.name or lau.project or f"Projet i-Lab {lau.ident}"


def ilab_pitch(
    laureates: list[Laureate], pool_from: int = 2015, held_out_from: int = 2020, train_from: int | None = None
) -> tuple[TextBenchmark, TextBenchmark]:
    """(training, evaluation) benchmarks: a laureate's pitch → the laureate (name and summary).

    Evaluation: the pitches of ``held_out_from`` on, against every laureate since ``pool_from``;
    training: the earlier pitches (from ``train_from`` if given), against the same laureates."""

    def bench(pool: list[Laureate], part: list[Laureate]) -> TextBenchmark:
        suppliers = [{"supplier_id": _supplier_id(lau), "name": _label(lau), "description": lau.summary} for lau in pool]
        needs = [_need(lau, "pitch", lau.pitch) for lau in part]
        return TextBenchmark(suppliers, needs, [(n["need_id"], _supplier_id(lau), 1) for n, lau in zip(needs, part)])

    earlier, later = _split(laureates, held_out_from, train_from)
    return bench(earlier, earlier), bench([lau for lau in laureates if lau.year >= pool_from], later)


def ilab_long(
    laureates: list[Laureate], pool_from: int = 2015, held_out_from: int = 2020, train_from: int | None = None
) -> tuple[TextBenchmark, TextBenchmark]:
    """(training, evaluation) benchmarks: the second part of a laureate's summary, its names and the rare
    words it shares with its own supplier text removed → the laureate (name, pitch, first part).
    Split as ``ilab_pitch``."""
    halves = {lau.ident: cut for lau in laureates if (cut := _halves(lau.summary)) is not None}
    usable = [lau for lau in laureates if lau.ident in halves]

    def bench(pool: list[Laureate], part: list[Laureate]) -> TextBenchmark:
        suppliers = {
            lau.ident: {
                "supplier_id": _supplier_id(lau),
                "name": _label(lau),
                "description": f"{_sentence(lau.pitch)} {halves[lau.ident][0]}",
            }
            for lau in pool
        }
        frequency = Counter(w for s in suppliers.values() for w in set(_words(s["description"])))
        rare = max(2, int(RARE_SHARE * len(suppliers)))
        needs = []
        for lau in part:
            second = halves[lau.ident][1]
            shared = set(_words(suppliers[lau.ident]["description"]))
            removed = set(_words(f"{lau.name} {lau.project}")) | {w for w in shared if frequency[w] < rare}
            needs.append(_need(lau, "long", _without(second, removed)))
        return TextBenchmark(list(suppliers.values()), needs, [(n["need_id"], _supplier_id(lau), 1) for n, lau in zip(needs, part)])

    earlier, later = _split(usable, held_out_from, train_from)
    return bench(earlier, earlier), bench([lau for lau in usable if lau.year >= pool_from], later)


def _split(laureates: list[Laureate], held_out_from: int, train_from: int | None) -> tuple[list[Laureate], list[Laureate]]:
    """(training, evaluation) laureates: before ``held_out_from`` (and from ``train_from``), and the rest."""
    earlier = [lau for lau in laureates if (train_from or 0) <= lau.year < held_out_from]
    return earlier, [lau for lau in laureates if lau.year >= held_out_from]


def _need(lau: Laureate, kind: str, text: str) -> dict[str, Any]:
    return {
        "need_id": f"ilab-{kind}-{lau.ident}",
        "buyer_id": f"ilab-{kind}-{lau.ident}",  # one buyer per need: no buyer history to share
        "description": text,
        "date": f"{lau.year}-07-01",  # i-Lab results are announced in early summer
    }


def _halves(summary: str) -> tuple[str, str] | None:
    """The summary cut at the sentence boundary nearest its middle; ``None`` below two sentences or 200 characters."""
    parts = sentences(summary)
    if len(parts) < 2 or len(summary) < 200:
        return None
    total, running, cut = sum(map(len, parts)), 0, 1
    for i, part in enumerate(parts[:-1], start=1):
        running += len(part)
        if running >= total / 2:
            cut = i
            break
    return " ".join(parts[:cut]), " ".join(parts[cut:])


def _without(text: str, removed: set[str]) -> str:
    """``text`` without the words (folded, over two letters) of ``removed``, spacing repaired."""
    kept = _WORD.sub(lambda m: "" if len(m.group()) > 2 and fold(m.group()) in removed else m.group(), text)
    return re.sub(r"\s+([,.;:!?)])", r"\1", re.sub(r"\s{2,}", " ", kept)).strip()


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _words(text: str) -> list[str]:
    """The folded words of ``text`` that a long need may lose (over two letters; stop words never matter)."""
    return [w for w in words(text) if len(w) > 2]


def text_only_view(suppliers: Iterable[dict[str, Any]], needs: Iterable[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Records stripped to their texts: needs (id, a buyer of their own, title, description, date), suppliers
    (id, name, description, the objects of their past contracts)."""
    out_needs = [
        {
            "need_id": n["need_id"],
            "buyer_id": f"anonyme-{n['need_id']}",
            **{k: n[k] for k in ("title", "description", "date") if n.get(k)},
        }
        for n in needs
    ]
    out_suppliers = []
    for s in suppliers:
        record: dict[str, Any] = {"supplier_id": s["supplier_id"], "name": s["name"]}
        if s.get("description"):
            record["description"] = s["description"]
        objects = [{"objet": r["objet"]} for r in s.get("references") or [] if r.get("objet")]
        if objects:
            record["references"] = objects
        out_suppliers.append(record)
    return out_suppliers, out_needs
