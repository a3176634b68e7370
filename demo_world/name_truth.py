"""Which name keys of a run name one business, from the demo world's own records; and the
name matcher's m/u re-estimated from them (`splink_match.estimate_name_model`).

In production the pairs that estimate m are those stewards confirmed as one business. In a
demo world the generator knows the business behind every record it writes (the rows'
`_subject`, never delivered): rebuilt from the world's seed, it gives each name key of a
run the businesses of the records that carry it, and two keys of one scope are one
business when a business is behind records of both.

    python -m demo_world.name_truth WORLD:WAREHOUSE [WORLD:WAREHOUSE ...]

prints the estimate for the pooled worlds (each warehouse after a `radar run` as of the
world's as-of date; it is attached read-only), the prior, and how many of the pairs at each
match probability of the current configuration are one business.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from demo_world.actors import build_population
from demo_world.config import WorldConfig
from demo_world.records import build_complaints, build_credit, build_inspections
from demo_world.reference import load_reference
from transforms.splink_match import (
    NameMatchConfig,
    estimate_name_model,
    load_config,
    refresh_name_candidates,
    score_name_pairs,
)

RECORD_SCHEMA = {"feed": pl.String, "record_id": pl.String, "business": pl.String}


def world_config(truth: dict[str, Any]) -> WorldConfig:
    """The generator's configuration of a world, from its truth.json: seed, scale, population
    seed (older worlds have none: the default), as-of."""
    population = truth.get("population_seed")
    return WorldConfig(
        seed=int(truth["seed"]),
        scale=float(truth["scale"]),
        population_seed=None if population is None else int(population),
        as_of=dt.date.fromisoformat(str(truth["as_of"])),
    )


def record_businesses(config: WorldConfig) -> pl.DataFrame:
    """(feed, record_id, business) for the records of the world's complaints, inspections and
    credit feeds that are about a business; register rows and listings name their business
    by their own id (`uscc:` + the USCC, `shop:` + platform:shop_id)."""
    pop = build_population(config, load_reference())
    complaints, *_ = build_complaints(pop)
    inspections, fails = build_inspections(pop)
    feeds = {
        "complaints": ("complaint_id", complaints),
        "inspections": ("inspection_id", inspections),
        "credit": ("record_id", build_credit(pop, fails)),
    }
    rows = [
        (feed, str(row[id_column]), str(row["_subject"]))
        for feed, (id_column, records) in feeds.items()
        for row in records
        if row["_subject"] is not None
    ]
    return pl.DataFrame(rows, schema=RECORD_SCHEMA, orient="row").unique()


def same_business_pairs(
    record_keys: pl.DataFrame, businesses: pl.DataFrame, candidates: pl.DataFrame
) -> pl.DataFrame:
    """(key_l, key_r), key_l < key_r: every pair of candidate name keys of one scope that
    records of one business carry."""
    named = record_keys.filter(pl.col("key_kind") == "name").select("feed", "record_id", "key")
    by_record = named.join(businesses, on=["feed", "record_id"])
    own_id = (
        pl.when(pl.col("feed") == "entities")
        .then(pl.lit("uscc:") + pl.col("record_id"))
        .when(pl.col("feed") == "listings")
        .then(pl.lit("shop:") + pl.col("record_id"))
    )
    by_own_id = named.with_columns(own_id.alias("business")).filter(
        pl.col("business").is_not_null()
    )
    owned = (
        pl.concat([by_record, by_own_id])
        .join(candidates.select("key", "scope"), on="key")
        .select("key", "scope", "business")
        .unique()
    )
    pairs = owned.join(owned, on=["scope", "business"], suffix="_r").filter(
        pl.col("key") < pl.col("key_r")
    )
    return pairs.select(pl.col("key").alias("key_l"), "key_r").unique().sort("key_l", "key_r")


def attach_sql(warehouse: Path) -> str:
    """Attach a warehouse file read-only as `wh` (ATTACH takes no bound parameters)."""
    return "attach '" + str(warehouse).replace("'", "''") + "' as wh (read_only)"


def world_candidates(world: Path, warehouse: Path) -> tuple[str, pl.DataFrame, pl.DataFrame]:
    """(label, candidates, same-business pairs) of one world, keys and scopes prefixed with
    the world's label so that worlds can be pooled."""
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    config = world_config(truth)
    label = f"s{config.seed}x{config.scale:g}"
    # name_candidates is rebuilt in memory by this code's SQL, over views of the tables it
    # reads: the warehouse itself is attached read-only
    con = duckdb.connect(":memory:")
    con.execute(attach_sql(warehouse))
    for schema in ("core", "staging"):
        con.execute(f"create schema {schema}")
    for table in (
        "core.record_keys",
        "staging.complaints",
        "staging.inspections",
        "staging.credit",
        "staging.entities",
        "staging.listings",
    ):
        con.execute(f"create view {table} as select * from wh.{table}")
    candidates = refresh_name_candidates(con, config.as_of)
    record_keys = con.sql("select * from core.record_keys").pl()
    con.close()
    matches = same_business_pairs(record_keys, record_businesses(config), candidates)

    def prefixed(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
        return frame.with_columns((pl.lit(f"{label}|") + pl.col(c)).alias(c) for c in columns)

    return label, prefixed(candidates, ["key", "scope"]), prefixed(matches, ["key_l", "key_r"])


def probability_table(
    candidates: pl.DataFrame, matches: pl.DataFrame, config: NameMatchConfig, at_least: float
) -> list[dict[str, Any]]:
    """For each match probability of at least `at_least` that `config` gives a blocked pair:
    how many pairs have it and how many of them are one business."""
    pairs = score_name_pairs(candidates, config, at_least=at_least)
    truth = set(matches.select("key_l", "key_r").iter_rows())
    counts: Counter[float] = Counter()
    ones: Counter[float] = Counter()
    for a, b, p in pairs.iter_rows():
        bucket = round(p, 3)
        counts[bucket] += 1
        ones[bucket] += (a, b) in truth
    return [
        {"probability": p, "pairs": counts[p], "one_business": ones[p]}
        for p in sorted(counts, reverse=True)
    ]


def estimate_from_worlds(
    runs: list[tuple[Path, Path]], config: NameMatchConfig | None = None, seed: int = 42
) -> dict[str, Any]:
    """The pooled estimate (`estimate_name_model`), the prior and the probability table of
    the (world, warehouse) runs."""
    config = config or load_config()
    worlds = [world_candidates(w, wh) for w, wh in runs]
    candidates = pl.concat([c for _, c, _ in worlds], how="vertical_relaxed")
    matches = pl.concat([m for _, _, m in worlds])
    # the prior is per world: a province's names are one world's, and no pair spans two
    within = sum(c.height * (c.height - 1) / 2 for _, c, _ in worlds)
    return {
        "worlds": [label for label, _, _ in worlds],
        "candidates": candidates.height,
        "same_business_pairs": matches.height,
        "prior": matches.height / within,
        "comparisons": estimate_name_model(candidates, matches, config, seed=seed),
        "probabilities": probability_table(candidates, matches, config, at_least=0.5),
    }


def main(argv: list[str]) -> None:
    """Print `estimate_from_worlds` of WORLD:WAREHOUSE arguments as JSON."""
    runs = [(Path(w), Path(wh)) for w, wh in (a.split(":", 1) for a in argv)]
    json.dump(estimate_from_worlds(runs), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
