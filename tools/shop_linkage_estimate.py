"""Re-estimate the shop linker's prior and m/u probabilities from a warehouse's listings, for review.

    python -m tools.shop_linkage_estimate WAREHOUSE [WAREHOUSE ...] --as-of 2026-06-30

For each warehouse (a run's, after `radar run`) the shop candidates are rebuilt as of the date
and `transforms.shop_linkage.estimate_shop_model` estimates from them alone: u by seeded random
sampling, m by expectation maximisation, the prior from the blocking rules. No truth is read.
Several warehouses are averaged level by level. The result is printed in the layout of
`transforms/config/shop_linkage.yaml`, which is changed by hand after review.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import duckdb
import yaml

from transforms.shop_linkage import estimate_shop_model, load_config, refresh_shop_candidates


def _mean(models: list[dict[str, Any]]) -> dict[str, Any]:
    first = models[0]
    prior = sum(m["probability_two_random_records_match"] for m in models) / len(models)
    comparisons = {
        column: {
            level: {
                p: round(sum(m["comparisons"][column][level][p] for m in models) / len(models), 6)
                for p in ("m", "u")
            }
            for level in levels
        }
        for column, levels in first["comparisons"].items()
    }
    lambdas = {k: [m["lambda"][k] for m in models] for k in first["lambda"]}
    pairs = {k: [m["pairs"][k] for m in models] for k in first["pairs"]}
    return {
        "probability_two_random_records_match": prior,
        "lambda": lambdas,
        "pairs": pairs,
        "comparisons": comparisons,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouses", nargs="+", type=Path)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    config = load_config()
    models = []
    for path in args.warehouses:
        with duckdb.connect(str(path)) as con:
            candidates = refresh_shop_candidates(con, args.as_of)
        models.append(estimate_shop_model(candidates, config, seed=args.seed))
        print(f"# {path}: {candidates.height} shops", file=sys.stderr)
    yaml.safe_dump(_mean(models), sys.stdout, allow_unicode=True, sort_keys=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
