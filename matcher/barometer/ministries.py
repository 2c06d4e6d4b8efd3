"""Who is which ministry: a default mapping from a buyer's name and SIREN, which staff correct.

There is no open register saying which ministry a buyer belongs to; the default is built from the
buyer's name (rules below, first match wins, on the folded name) and, for local bodies, from the
kind of SIREN (``2…``: communes, départements, regions, their groupings and establishments). Staff
edit the mapping (``store.set_buyer``, the CSV import); their entries always win over the rules
and survive re-imports. A buyer no rule recognises is listed as unmapped, never dropped.
"""

from __future__ import annotations

import re

from matcher.data.text import fold

#: the family of every local public body (not a ministry: counted apart from the State's share)
LOCAL = "Collectivités territoriales"
#: hospitals and other public health establishments
HOSPITALS = "Établissements publics de santé"

#: (ministry, patterns on the folded buyer name), first match wins
RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "Armées",
        (r"\barmees?\b", r"ministere de la defense", r"\bdga\b", r"marine nationale", r"commissariat des armees", r"sante des armees"),
    ),
    ("Intérieur", (r"\binterieur\b", r"\bprefecture\b", r"police nationale", r"\bgendarmerie\b", r"\bsgami\b")),
    ("Justice", (r"\bjustice\b", r"\btribunal\b", r"cour d.appel", r"penitentiaire", r"protection judiciaire")),
    (
        "Économie et Finances",
        (r"finances publiques", r"\bdgfip\b", r"\bd[rd]fip\b", r"\bdouanes?\b", r"\binsee\b", r"ministere .*economie"),
    ),
    (
        "Enseignement supérieur et Recherche",
        (
            r"\buniversite",
            r"\bcnrs\b",
            r"\binserm\b",
            r"\binria\b",
            r"\binrae?\b",
            r"\bcea\b",
            r"\bcrous\b",
            r"ecole normale superieure",
            r"recherche scientifique",
        ),
    ),
    ("Éducation nationale", (r"\brectorat\b", r"\bacademie\b", r"education nationale", r"\blycee\b", r"\bcollege\b")),
    (HOSPITALS, (r"centre hospitalier", r"\bchu\b", r"\bchr\b", r"\bhopita", r"assistance publique", r"\bgroupement hospitalier")),
    ("Santé et Solidarités", (r"ministere .*(sante|solidarites)", r"agence regionale de sante", r"\bars\b")),
    (
        "Culture",
        (r"ministere de la culture", r"\bdrac\b", r"\bmusee", r"monuments nationaux", r"bibliotheque nationale", r"opera national"),
    ),
    ("Agriculture", (r"ministere de l.agriculture", r"\bdraaf\b", r"office national des forets", r"franceagrimer")),
    (
        "Transition écologique",
        (
            r"transition ecologique",
            r"\bdreal\b",
            r"routes? (nationales?|interdepartementale)",
            r"voies navigables",
            r"meteo.france",
            r"\bademe\b",
            r"\bcerema\b",
        ),
    ),
    ("Travail et Emploi", (r"ministere du travail", r"\bdreets\b", r"pole emploi", r"france travail")),
    ("Europe et Affaires étrangères", (r"affaires etrangeres", r"\bambassade\b")),
    ("Services du Premier ministre", (r"premier ministre", r"\bsgdsn\b", r"\bdinum\b")),
)
_COMPILED = tuple((ministry, tuple(re.compile(p) for p in patterns)) for ministry, patterns in RULES)
#: SIREN prefixes of local public bodies (groupings created since 2000 20, communes 21, départements 22, regions 23, groupings 24,
#: syndicates 25, local public establishments 26–28)
_LOCAL_PREFIXES = ("20", "21", "22", "23", "24", "25", "27", "28")


def default_ministry(name: str, buyer_id: str) -> str | None:
    """The ministry (or family of buyers) a buyer's name or SIREN says, ``None`` when none does."""
    folded = fold(name).replace("-", " ")
    for ministry, patterns in _COMPILED:
        if any(p.search(folded) for p in patterns):
            return ministry
    digits = buyer_id[:2]
    if digits == "26":  # local public establishments: mostly hospitals
        return HOSPITALS
    if digits in _LOCAL_PREFIXES:
        return LOCAL
    return None


def is_state(ministry: str | None) -> bool:
    """Whether a mapped buyer is one of the State's (a ministry, not a local body nor a hospital)."""
    return ministry is not None and ministry not in (LOCAL, HOSPITALS)
