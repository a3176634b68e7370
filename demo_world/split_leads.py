"""Why an operator is two leads: for each operator with more than one lead in the top N of a
run, its leads and the keys each holds, with the linker's facts about those keys (name,
stem, ship-from, category, opening) and the score of every pair of them across two leads
(or why the pair is not scored). Development only: it reads the demo world's truth.

    python -m demo_world.split_leads WORLD OUT/<as-of> WAREHOUSE [--top 50]
"""

from __future__ import annotations

import argparse
from itertools import product
from pathlib import Path

import duckdb
import polars as pl

from demo_world.evaluate import _KeyIndex, lead_keys, load_truth, read_export
from transforms.shop_linkage import load_config, score_shop_pairs


def split_operators(
    leads: pl.DataFrame, world: Path, top: int
) -> dict[str, list[tuple[int, str, set[str]]]]:
    """Operator -> its leads in the top `top` (rank, lead id, its keys of that operator), for
    the operators with two or more."""
    index = _KeyIndex(load_truth(world))
    found: dict[str, list[tuple[int, str, set[str]]]] = {}
    for row in leads.head(top).iter_rows(named=True):
        keys = lead_keys(row)
        for op in index.operators_of(keys):
            own = {k for k in keys if op in index.operators.get(k, ())}
            found.setdefault(op, []).append((int(row["rank"]), row["lead_id"], own))
    return {op: rows for op, rows in found.items() if len(rows) > 1}


def _facts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    shops = con.sql(
        "select key, shop_name as name, stem, ship_from, category, opened_on::varchar as opened"
        " from core.shop_candidates"
    ).pl()
    businesses = con.sql(
        "select key, shop_name as name, stem, ship_from, category, null::varchar as opened"
        " from core.business_candidates"
    ).pl()
    return pl.concat([shops, businesses])


def _why_not(a: dict, b: dict) -> str:
    if a["category"] != b["category"]:
        return "two categories"
    if a["stem"] is None or b["stem"] is None:
        return "no stem (none left, or a brand)"
    if a["stem"] not in b["stem"] and b["stem"] not in a["stem"]:
        return "stems unrelated"
    if a["stem"] != b["stem"] and (a["ship_from"] or "")[:4] != (b["ship_from"] or "")[:4]:
        return "contained stems in two prefectures (not blocked)"
    if a["stem"] != b["stem"] and min(len(a["stem"]), len(b["stem"])) < 2:
        return "a one-character stem contained in another (not blocked)"
    return "not scored"


def report(world: Path, run: Path, warehouse: Path, top: int) -> str:
    leads = read_export(run, "entity_leads")
    assert leads is not None
    split = split_operators(leads, world, top)
    con = duckdb.connect(str(warehouse), read_only=True)
    facts = _facts(con)
    shops = con.sql("select * from core.shop_candidates").pl()
    businesses = con.sql("select * from core.business_candidates").pl()
    con.close()
    pairs = score_shop_pairs(shops, load_config(), 0.0, businesses)
    score = {
        (a, b): p for a, b, p in pairs.select("key_a", "key_b", "match_probability").iter_rows()
    }
    by_key = {row["key"]: row for row in facts.iter_rows(named=True)}
    lines = []
    for op, rows in sorted(split.items()):
        lines.append(f"{op}: {len(rows)} leads in the top {top}")
        for rank, lead, keys in rows:
            lines.append(f"  #{rank} {lead}")
            for key in sorted(keys):
                f = by_key.get(key)
                lines.append(
                    f"    {key}  "
                    + (
                        f"{f['name']} stem={f['stem']} from={f['ship_from']}"
                        f" cat={f['category']} opened={f['opened']}"
                        if f
                        else "(not a candidate)"
                    )
                )
        for (_, _, ka), (_, _, kb) in zip(rows, rows[1:], strict=False):
            for x, y in product(sorted(ka), sorted(kb)):
                a, b = sorted((x, y))
                if a in by_key and b in by_key:
                    p = score.get((a, b))
                    why = f"p={p:.3f}" if p is not None else _why_not(by_key[a], by_key[b])
                    lines.append(f"    pair {a} ~ {b}: {why}")
    return "\n".join(lines) or f"no operator twice in the top {top}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("world", type=Path)
    parser.add_argument("run", type=Path)
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--top", type=int, default=50)
    args = parser.parse_args()
    print(report(args.world, args.run, args.warehouse, args.top))


if __name__ == "__main__":
    main()
