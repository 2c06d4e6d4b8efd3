"""The barometer's figures: how much of the buyers' purchases goes to innovative companies and SMEs.

Over the deduplicated awards (``store.awards``), grouped by any of ``DIMENSIONS``:

- ``contracts``, ``amount``: contracts and their amounts (euros excl. VAT). A contract won by
  several holders (co-contracting) is one contract whose amount is **split equally** between them;
- ``innovative_amount`` / ``innovative_share``: the part of the amount won by labelled innovative
  companies (``labels``: by SIREN, counted from the label's year on — a company is not innovative
  by a label it did not have yet);
- ``sme_amount`` / ``sme_share`` and ``sme_unknown_share``: won by SMEs where a source says so,
  and the part whose holder's size is unknown (never guessed);
- ``flagged_amount`` / ``flagged_share``: the part the buyers themselves flagged innovative
  (``marcheInnovant``, 2022 format, from 2024), over the awards that carry a readable flag
  (``flag_known_amount``); ``flagged_not_labelled`` and ``labelled_not_flagged``: where the two
  measures disagree;
- ``unusable``: awards without a usable amount or holder id, counted apart (not in the shares).

``is_state``: only the State's buyers (a ministry, not a local body nor a hospital) — the scope of
the 4 % target. ``trajectory(year)``: the target's straight line from ``BASELINE_SHARE`` in
``BASELINE_YEAR`` to ``TARGET_SHARE`` in ``TARGET_YEAR``.
"""

from __future__ import annotations

from typing import Any

from matcher.barometer.ministries import HOSPITALS, LOCAL
from matcher.barometer.store import BarometerStore

#: what the figures can be grouped by → its SQL expression over ``barometer_rows``
DIMENSIONS: dict[str, str] = {
    "year": "year",
    "quarter": "quarter",
    "ministry": "coalesce(ministry, 'Non rattaché')",
    "region": "coalesce(region, 'Région inconnue')",
    "division": "coalesce(division, 'Sans CPV')",
    "procedure": "coalesce(nullif(procedure, ''), 'Procédure non renseignée')",
}
#: the State's share of purchases going to innovative SMEs and start-ups: last count and target
BASELINE_SHARE, BASELINE_YEAR = 0.024, 2024
TARGET_SHARE, TARGET_YEAR = 0.04, 2027

#: one row per (contract, holder) with what the figures read
ROWS = f"""
CREATE OR REPLACE TEMP VIEW barometer_rows AS
SELECT a.* EXCLUDE (region), b.ministry,
    coalesce(b.region, a.region) AS region,
    a.amount / a.holders AS amount_share,
    year(a.date) AS year,
    CAST(year(a.date) AS VARCHAR) || '-T' || CAST(quarter(a.date) AS VARCHAR) AS quarter,
    substr(a.cpv, 1, 2) AS division,
    (a.amount IS NOT NULL AND a.holder_id IS NOT NULL AND a.date IS NOT NULL) AS usable,
    coalesce(l.since <= year(a.date), false) AS labelled,
    c.sme,
    (b.ministry IS NOT NULL AND b.ministry NOT IN ('{LOCAL}', '{HOSPITALS.replace("'", "''")}')) AS is_state
FROM awards a
LEFT JOIN buyers b ON b.buyer_id = a.buyer_id
-- a company counts as innovative from the first year one of its labels names (always when none names one)
LEFT JOIN (SELECT siren, min(coalesce(year, 0)) AS since FROM labels GROUP BY siren) l ON l.siren = a.holder_id
LEFT JOIN companies c ON c.siren = a.holder_id
WHERE a.kind = 'marché'
"""

_MEASURES = """
    count(DISTINCT contract_key) AS contracts,
    count(DISTINCT contract_key) FILTER (WHERE usable) AS usable_contracts,
    count(*) FILTER (WHERE NOT usable) AS unusable,
    coalesce(sum(amount_share) FILTER (WHERE usable), 0) AS amount,
    coalesce(sum(amount_share) FILTER (WHERE usable AND labelled), 0) AS innovative_amount,
    count(DISTINCT contract_key) FILTER (WHERE usable AND labelled) AS innovative_contracts,
    coalesce(sum(amount_share) FILTER (WHERE usable AND sme), 0) AS sme_amount,
    coalesce(sum(amount_share) FILTER (WHERE usable AND sme IS NULL), 0) AS sme_unknown_amount,
    coalesce(sum(amount_share) FILTER (WHERE usable AND innovative_flag IS NOT NULL), 0) AS flag_known_amount,
    coalesce(sum(amount_share) FILTER (WHERE usable AND innovative_flag), 0) AS flagged_amount,
    coalesce(sum(amount_share) FILTER (WHERE usable AND innovative_flag AND NOT labelled), 0) AS flagged_not_labelled,
    coalesce(sum(amount_share) FILTER (WHERE usable AND innovative_flag = false AND labelled), 0) AS labelled_not_flagged
"""


def trajectory(year: int) -> float:
    """The target share for a year on the straight line from the last count to the 2027 target (flat outside)."""
    if year <= BASELINE_YEAR:
        return BASELINE_SHARE
    if year >= TARGET_YEAR:
        return TARGET_SHARE
    return BASELINE_SHARE + (TARGET_SHARE - BASELINE_SHARE) * (year - BASELINE_YEAR) / (TARGET_YEAR - BASELINE_YEAR)


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 6) if whole else None


def figures(
    store: BarometerStore, by: list[str] | tuple[str, ...] = ("year",), state_only: bool = False, year: int | None = None
) -> list[dict[str, Any]]:
    """The figures grouped by ``by`` (any of ``DIMENSIONS``), largest amount first within each first
    key; ``state_only``: the State's buyers only; ``year``: that year only. ``ValueError`` naming an
    unknown dimension."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown:
        raise ValueError(f"by : {', '.join(unknown)} inconnu (possibles : {', '.join(DIMENSIONS)})")
    store.run(ROWS)
    where = ["TRUE"]
    params: list[Any] = []
    if state_only:
        where.append("is_state")
    if year is not None:
        where.append("year = ?")
        params.append(int(year))
    keys = ", ".join(f"{DIMENSIONS[d]} AS {d}" for d in by)
    group = ", ".join(str(i + 1) for i in range(len(by)))
    select = f"SELECT {keys + ',' if keys else ''} {_MEASURES} FROM barometer_rows WHERE {' AND '.join(where)}"
    sql = f"{select} GROUP BY {group} ORDER BY {group}" if by else select
    rows = store.query(sql, params)
    for row in rows:
        amount = row["amount"]
        row["innovative_share"] = _share(row["innovative_amount"], amount)
        row["sme_share"] = _share(row["sme_amount"], amount)
        row["sme_unknown_share"] = _share(row["sme_unknown_amount"], amount)
        row["flagged_share"] = _share(row["flagged_amount"], row["flag_known_amount"])
        if "year" in row and row["year"] is not None:
            row["target_share"] = round(trajectory(int(row["year"])), 6)
    return rows


def unmapped_buyers(store: BarometerStore, limit: int = 100) -> list[dict[str, Any]]:
    """Buyers no rule nor staff mapped to a ministry, largest amount first (what staff should map next)."""
    return store.query(
        "SELECT a.buyer_id, any_value(a.buyer_name) AS name, count(DISTINCT a.contract_key) AS contracts, coalesce(sum(a.amount), 0) AS amount "
        "FROM awards a JOIN buyers b ON b.buyer_id = a.buyer_id WHERE b.ministry IS NULL GROUP BY a.buyer_id ORDER BY amount DESC, a.buyer_id LIMIT ?",
        [int(limit)],
    )


#: ``totals`` of a barometer without any import
EMPTY_TOTALS: dict[str, Any] = {
    "rows": 0,
    "contracts": 0,
    "first_year": None,
    "last_year": None,
    "unusable": 0,
    "concessions": 0,
    "buyers": 0,
    "buyers_unmapped": 0,
    "labelled_companies": 0,
}


def totals(store: BarometerStore) -> dict[str, Any]:
    """What the database holds: awards, contracts, buyers mapped and not, labels, years covered."""
    store.run(ROWS)
    row = store.query(
        "SELECT count(*) AS rows, count(DISTINCT contract_key) AS contracts, min(year) AS first_year, max(year) AS last_year, "
        "count(*) FILTER (WHERE NOT usable) AS unusable FROM barometer_rows"
    )[0]
    row["concessions"] = store.scalar("SELECT count(DISTINCT contract_key) FROM awards WHERE kind = 'concession'")
    row["buyers"] = store.scalar("SELECT count(*) FROM buyers")
    row["buyers_unmapped"] = store.scalar("SELECT count(*) FROM buyers WHERE ministry IS NULL")
    row["labelled_companies"] = store.scalar("SELECT count(DISTINCT siren) FROM labels")
    return row
