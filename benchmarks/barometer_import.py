"""The barometer's import at the scale of the full DECP: time and peak memory, and the aggregates in DuckDB vs Polars.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/barometer_import.py [--awards 5000000] [--work /tmp/barometer-bench]

1. Writes a DECP-shaped file of ``--awards`` contracts in the 2022 JSON format (streamed to disk:
   buyers, holders, amounts, dates, the innovation flag and the dirt of the real files — 1 % of
   placeholder holders, 2 % without an amount, 3 % published twice — drawn from a fixed seed),
   and an i-Lab-like list of 3,000 labelled SIRENs.
2. Imports it in a child process (``BarometerStore.import_files``: ijson stream, cleaning, Arrow
   batches into DuckDB, the dedup pass) and reports its wall time and peak resident memory
   (``ru_maxrss`` of the child). Goal (issue 16): under 10 minutes and 2 GB on the 2-core machine.
3. Times the figures by ministry and year in DuckDB (``figures``: the joins with buyers, labels and
   sizes done at each call) and, when Polars is installed (``pip install polars``, the ``bench``
   extra), the same aggregation in Polars and in DuckDB over one Parquet export of the joined rows
   — the engine choice's measurement.
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUYERS = 20_000
HOLDERS = 150_000
LABELLED = 3_000


def _siren(rng: random.Random) -> str:
    """A 9-digit SIREN with a valid Luhn key."""
    digits = [rng.randint(0, 9) for _ in range(8)]
    total = sum((d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d for i, d in enumerate(reversed(digits)))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def write_file(path: Path, awards: int, seed: int = 0) -> list[str]:
    """A 2022-format DECP file of ``awards`` contracts, streamed; returns the holders' SIRENs."""
    rng = random.Random(seed)
    buyers = [
        (
            f"1{rng.randint(10**12, 10**13 - 1)}",
            rng.choice(["Ministère des Armées", "Préfecture du Nord", "CHU de Lille", "Commune de Lens"]),
        )
        for _ in range(BUYERS)
    ]
    holders = [_siren(rng) for _ in range(HOLDERS)]
    procedures = ["Procédure adaptée", "Appel d'offres ouvert", "Marché passé sans publicité ni mise en concurrence préalable"]
    flags = ["true", "false", "oui", "non", "1", "0", "", "?"]
    with path.open("w", encoding="utf-8") as out:
        out.write('{"marches": {"marche": [\n')
        for i in range(awards):
            buyer, name = buyers[rng.randrange(BUYERS)]
            holder = "00000000000000" if rng.random() < 0.01 else holders[rng.randrange(HOLDERS)] + "00017"
            contract = {
                "id": f"2024-{i:08d}",
                "acheteur": {"id": buyer, "nom": name},
                "objet": f"Prestations de services n° {i} &amp; maintenance",
                "codeCPV": f"{rng.choice(['72', '45', '79', '33', '50'])}000000",
                "procedure": rng.choice(procedures),
                "montant": None if rng.random() < 0.02 else round(rng.lognormvariate(11, 1.5), 2),
                "dateNotification": f"{rng.choice([2024, 2025])}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "datePublicationDonnees": "2025-06-01",
                "lieuExecution": {"code": f"{rng.randint(1, 95):02d}", "typeCode": "Code département"},
                "marcheInnovant": rng.choice(flags),
                "titulaires": [{"titulaire": {"typeIdentifiant": "SIRET", "id": holder}}],
            }
            line = json.dumps(contract, ensure_ascii=False)
            out.write(("," if i else "") + line + "\n")
            if rng.random() < 0.03:  # published twice (another source, the same contract)
                out.write("," + line + "\n")
        out.write("]}}\n")
    return holders


def child(db: Path, decp: Path, labels: Path) -> None:
    """Import in this process and print its figures as JSON (time, peak memory)."""
    sys.path.insert(0, str(REPO))
    from matcher.barometer.store import BarometerStore

    start = time.perf_counter()
    store = BarometerStore(db)
    result = store.import_files([decp])
    elapsed = time.perf_counter() - start
    store.add_labels([(s, "test", "bench", 2020) for s in json.loads(labels.read_text())])
    store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps({"seconds": elapsed, "peak_bytes": peak, "raw": result.raw_rows, "awards": result.awards, "contracts": result.contracts})
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--awards", type=int, default=5_000_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/barometer-bench"))
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    decp, labels, db = args.work / "decp-2022.json", args.work / "labels.json", args.work / "barometer.duckdb"
    db.unlink(missing_ok=True)
    start = time.perf_counter()
    holders = write_file(decp, args.awards)
    labels.write_text(json.dumps(random.Random(1).sample(holders, LABELLED)))
    written = time.perf_counter() - start
    print(f"File: {args.awards:,} contracts, {decp.stat().st_size / 1e9:.2f} GB, written in {written:.0f} s\n", file=sys.stderr)
    out = subprocess.run([sys.executable, __file__, "--child", str(db), str(decp), str(labels)], capture_output=True, text=True, check=True)
    run = json.loads(out.stdout.strip().splitlines()[-1])
    print("## Import of a DECP-shaped file (2022 JSON format)\n")
    print("| contracts in the file | file size | rows read | rows kept (dedup) | contracts | wall time | peak memory |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {args.awards:,} | {decp.stat().st_size / 1e9:.2f} GB | {run['raw']:,} | {run['awards']:,} | {run['contracts']:,} | "
        f"{run['seconds'] / 60:.1f} min ({run['seconds']:.0f} s) | {run['peak_bytes'] / 2**30:.2f} GiB |"
    )

    sys.path.insert(0, str(REPO))
    from matcher.barometer.figures import figures
    from matcher.barometer.store import BarometerStore

    store = BarometerStore(db)
    start = time.perf_counter()
    duck = figures(store, ["ministry", "year"])
    duck_s = time.perf_counter() - start
    print("\n## Figures by ministry and year\n")
    print("| engine | seconds | groups |")
    print("|---|---:|---:|")
    print(f"| DuckDB (`figures`, from the database file) | {duck_s:.2f} | {len(duck)} |")
    try:
        import polars as pl
    except ImportError:
        print("| Polars | not installed (`pip install polars`) | — |")
        store.close()
        return 0
    parquet = args.work / "rows.parquet"
    store.run(f"COPY (SELECT * FROM barometer_rows) TO '{parquet}' (FORMAT parquet)")
    store.close()
    start = time.perf_counter()
    frame = (
        pl.scan_parquet(parquet)
        .filter(pl.col("usable"))
        .group_by(["ministry", "year"])
        .agg(
            pl.col("contract_key").n_unique().alias("contracts"),
            pl.col("amount_share").sum().alias("amount"),
            pl.col("amount_share").filter(pl.col("labelled")).sum().alias("innovative_amount"),
        )
        .collect()
    )
    polars_s = time.perf_counter() - start
    print(f"| Polars (lazy scan of the rows as Parquet, joins done; the export not counted) | {polars_s:.2f} | {frame.height} |")
    import duckdb

    start = time.perf_counter()
    groups = duckdb.sql(
        f"SELECT ministry, year, count(DISTINCT contract_key) AS contracts, sum(amount_share) AS amount, "
        f"sum(amount_share) FILTER (WHERE labelled) AS innovative_amount FROM read_parquet('{parquet}') WHERE usable GROUP BY ALL"
    ).fetchall()
    print(f"| DuckDB (the same Parquet file, the same aggregation) | {time.perf_counter() - start:.2f} | {len(groups)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
