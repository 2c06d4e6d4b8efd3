"""Where an award is: the département and region of its place of execution, or of a local buyer.

The DECP give a place of execution as a code of a given type (``lieuExecution``: ``Code
département``, ``Code postal``, ``Code commune``, ``Code région``, …). Départements map to the 18
regions of 2016; a region code (INSEE) maps directly. A code of another type (country,
arrondissement), or one that does not read as French, gives no place: such awards are counted as
« région inconnue », never guessed.
"""

from __future__ import annotations

#: region → its départements (INSEE codes; Corsica as 2A/2B)
REGIONS: dict[str, tuple[str, ...]] = {
    "Auvergne-Rhône-Alpes": ("01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"),
    "Bourgogne-Franche-Comté": ("21", "25", "39", "58", "70", "71", "89", "90"),
    "Bretagne": ("22", "29", "35", "56"),
    "Centre-Val de Loire": ("18", "28", "36", "37", "41", "45"),
    "Corse": ("2A", "2B", "20"),  # "20": Corsica before 1976, still written by some publishers
    "Grand Est": ("08", "10", "51", "52", "54", "55", "57", "67", "68", "88"),
    "Hauts-de-France": ("02", "59", "60", "62", "80"),
    "Île-de-France": ("75", "77", "78", "91", "92", "93", "94", "95"),
    "Normandie": ("14", "27", "50", "61", "76"),
    "Nouvelle-Aquitaine": ("16", "17", "19", "23", "24", "33", "40", "47", "64", "79", "86", "87"),
    "Occitanie": ("09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"),
    "Pays de la Loire": ("44", "49", "53", "72", "85"),
    "Provence-Alpes-Côte d'Azur": ("04", "05", "06", "13", "83", "84"),
    "Guadeloupe": ("971",),
    "Martinique": ("972",),
    "Guyane": ("973",),
    "La Réunion": ("974",),
    "Mayotte": ("976",),
}
#: INSEE region code → region
REGION_CODES = {
    "84": "Auvergne-Rhône-Alpes",
    "27": "Bourgogne-Franche-Comté",
    "53": "Bretagne",
    "24": "Centre-Val de Loire",
    "94": "Corse",
    "44": "Grand Est",
    "32": "Hauts-de-France",
    "11": "Île-de-France",
    "28": "Normandie",
    "75": "Nouvelle-Aquitaine",
    "76": "Occitanie",
    "52": "Pays de la Loire",
    "93": "Provence-Alpes-Côte d'Azur",
    "01": "Guadeloupe",
    "02": "Martinique",
    "03": "Guyane",
    "04": "La Réunion",
    "06": "Mayotte",
}
#: département → region
DEPARTMENT_REGION = {dept: region for region, depts in REGIONS.items() for dept in depts}


def _department_of_code(code: str) -> str | None:
    """The département of a postal or INSEE commune code (5 characters)."""
    code = code.upper()
    if len(code) != 5:
        return None
    if code[:2] in ("2A", "2B"):
        return code[:2]
    if not code.isdigit():
        return None
    if code.startswith("97"):
        return code[:3] if code[:3] in DEPARTMENT_REGION else None
    if code.startswith("20"):  # a Corsican postal code: 200xx–201xx South, 202xx–206xx North
        return "2A" if code[2] in "01" else "2B"
    return code[:2] if code[:2] in DEPARTMENT_REGION else None


def department_of_place(code: str, kind: str) -> str | None:
    """The département of a DECP place of execution, ``None`` when its type or code says none."""
    code, kind = code.strip().upper(), kind.strip().lower()
    if not code:
        return None
    if "département" in kind or "departement" in kind:
        code = code.zfill(2) if code.isdigit() and len(code) == 1 else code
        return code if code in DEPARTMENT_REGION else None
    if "postal" in kind or "commune" in kind:
        return _department_of_code(code)
    return None


def region_of_place(code: str, kind: str) -> str | None:
    """The region of a DECP place of execution (a région code, or through its département)."""
    if "région" in kind.lower() or "region" in kind.lower():
        return REGION_CODES.get(code.strip().zfill(2))
    department = department_of_place(code, kind)
    return DEPARTMENT_REGION.get(department) if department else None


def region_of_department(department: str | None) -> str | None:
    """The region of a département code (``None`` when unknown)."""
    return DEPARTMENT_REGION.get(department) if department else None
