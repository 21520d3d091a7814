#!/usr/bin/env python3
"""DuckDB's side of the aggregates bench (node/benches/aggregates.rs).

Usage: python3 aggregates_duckdb.py FILE.csv [PROVINCE]

Loads the bench's accepted data (one row per unit: unit, province, city,
industry, then one column per indicator with 3 decimals) into an in-memory
DuckDB table with exact DECIMAL(18,3) columns, then times the national
summary (province x industry, the sum and count of every indicator) and the
drill-down of one province (city x industry), best of several runs. Prints
one JSON object; exits 2 with a one-line message when duckdb is missing.
"""

import json
import sys
import time


def best_ms(connection, sql, runs):
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        connection.execute(sql).fetchall()
        best = min(best, (time.perf_counter() - started) * 1000.0)
    return best


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: aggregates_duckdb.py FILE.csv [PROVINCE]")
    path = sys.argv[1]
    province = sys.argv[2] if len(sys.argv) > 2 else "320000"
    try:
        import duckdb
    except ImportError:
        print("duckdb is not installed for this python3 (pip install duckdb)", file=sys.stderr)
        sys.exit(2)

    with open(path, encoding="utf-8") as csv_file:
        header = csv_file.readline().strip().split(",")
    indicators = header[4:]
    columns = {"unit": "VARCHAR", "province": "VARCHAR", "city": "VARCHAR", "industry": "VARCHAR"}
    columns.update({name: "DECIMAL(18,3)" for name in indicators})

    connection = duckdb.connect(":memory:")
    started = time.perf_counter()
    connection.execute(
        "CREATE TABLE accepted AS SELECT * FROM read_csv(?, header = true, columns = ?)",
        [path, columns],
    )
    load_ms = (time.perf_counter() - started) * 1000.0

    # The same answer as ours: per cell, the exact sum and the count of every indicator.
    measures = ", ".join(f'sum("{name}"), count("{name}")' for name in indicators)
    summary = f"SELECT province, industry, count(*), {measures} FROM accepted GROUP BY province, industry"
    drill_down = (
        f"SELECT city, industry, count(*), {measures} FROM accepted "
        f"WHERE province = '{province}' GROUP BY city, industry"
    )
    connection.execute(summary).fetchall()  # warm-up
    summary_ms = best_ms(connection, summary, 10)
    drill_down_ms = best_ms(connection, drill_down, 10)
    first_total = connection.execute(f'SELECT sum("{indicators[0]}") FROM accepted').fetchone()[0]
    print(
        json.dumps(
            {
                "duckdb_version": duckdb.__version__,
                "rows": connection.execute("SELECT count(*) FROM accepted").fetchone()[0],
                "load_ms": round(load_ms, 1),
                "summary_ms": round(summary_ms, 3),
                "drill_down_ms": round(drill_down_ms, 3),
                "first_indicator_total": str(first_total),
            }
        )
    )


if __name__ == "__main__":
    main()
