"""Generate a demo world: WORLD/landing (the six feeds as offices deliver them) and WORLD/truth.json.

    from demo_world.generate import WorldConfig, generate_world
    summary = generate_world(Path("data/demo_world"), WorldConfig(seed=7, scale=1.0))

The same config gives byte-identical files with identical modification times (each file's
mtime is its delivery moment, which is how the pipeline orders deliveries).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

from demo_world.actors import SEASON_MONTHS, SEASONAL, Population, build_population
from demo_world.config import DEFAULT_AS_OF, WorldConfig
from demo_world.deliveries import (
    deliver_complaints,
    deliver_credit,
    deliver_entities,
    deliver_inspections,
    deliver_listings,
    deliver_outcomes,
    deliver_readme,
)
from demo_world.landing import DataQualityLog, Landing, epoch_seconds
from demo_world.listings import build_listing_book
from demo_world.records import build_complaints, build_credit, build_inspections, build_outcomes
from demo_world.reference import load_reference

__all__ = ["DEFAULT_AS_OF", "WorldConfig", "generate_world", "truth_of", "write_truth"]


def generate_world(world_dir: Path, config: WorldConfig | None = None) -> dict[str, object]:
    """Write WORLD/landing and WORLD/truth.json for `config`; return a small summary.

    An existing WORLD/landing is replaced, so that no file of an earlier world lingers.
    """
    config = config or WorldConfig()
    world_dir = Path(world_dir)
    ref = load_reference()
    pop = build_population(config, ref)
    landing_dir = world_dir / "landing"
    if landing_dir.exists():
        shutil.rmtree(landing_dir)
    landing = Landing(landing_dir, config, ref)

    complaints, phones, evident, split_extra = build_complaints(pop)
    inspections, fails = build_inspections(pop)
    deliver_readme(landing, pop)
    deliver_entities(landing, pop)
    deliver_listings(landing, pop, build_listing_book(pop))
    deliver_complaints(landing, pop, complaints)
    deliver_inspections(landing, pop, inspections)
    deliver_credit(landing, pop, build_credit(pop, fails))
    outcomes = build_outcomes(pop)
    deliver_outcomes(landing, pop, outcomes)

    truth = truth_of(pop, landing.log, phones, evident, outcomes, split_extra)
    write_truth(world_dir / "truth.json", truth, config.as_of)
    log = landing.log
    return {
        "world_dir": str(world_dir),
        "as_of": config.as_of.isoformat(),
        "history_start": config.history_start.isoformat(),
        "files_written": log.files_written + 1,
        "rows": dict(sorted(log.rows_written.items())),
        "operators": len(pop.operators),
        "decoys": len(pop.decoys),
        "surges": len(pop.surges),
        "entities": len(pop.entities),
        "shops": len(pop.shops),
        "bad_rows": len(log.bad_rows),
        "uscc_findings": len(log.uscc_findings),
        "bad_files": len(log.bad_files),
        "phones": len(phones),
    }


def truth_of(
    pop: Population,
    log: DataQualityLog,
    phones: set[str],
    evident: dict[str, dt.date],
    outcomes: list[dict[str, object]],
    split_extra: dict[str, float] | None = None,
) -> dict[str, object]:
    """The ground truth in the shape of truth.json (see the shared interfaces); each operator
    lists the outcomes of its cases (closed_on, outcome), oldest first."""
    cfg = pop.config
    cases: dict[str, list[dict[str, str]]] = {}
    for row in sorted(outcomes, key=lambda r: str(r["closed_on"])):
        if row["_operator"]:
            cases.setdefault(str(row["_operator"]), []).append(
                {"closed_on": str(row["closed_on"]), "outcome": str(row["outcome"])}
            )

    def shop_keys(ids: list[int]) -> list[str]:
        return sorted(pop.shops[i].key for i in ids)

    def names_of(entity_ids: list[int], shop_ids: list[int]) -> list[str]:
        found = [pop.entities[i].name for i in entity_ids] + [pop.shops[i].name for i in shop_ids]
        return list(dict.fromkeys(found))

    operators = [
        {
            "operator_id": op.operator_id,
            "kind": op.kind,
            "product_categories": list(op.categories),
            "region_code": op.region_code,
            "shop_keys": shop_keys(op.shops),
            "usccs": [pop.entities[i].uscc for i in op.entities],
            "names": names_of(op.entities, op.shops),
            "contact_hashes": [op.contact_hash] if op.contact_hash else [],
            "ship_from": sorted({pop.shops[i].ship_from for i in op.shops}),
            "outcomes": cases.get(op.operator_id, []),
        }
        for op in pop.operators
    ]
    decoys = [
        {
            "decoy_id": d.decoy_id,
            "kind": d.kind,
            "shop_keys": shop_keys(d.shops),
            "usccs": [pop.entities[i].uscc for i in d.entities],
            "names": names_of(d.entities, d.shops),
        }
        for d in pop.decoys
    ]
    surges = [
        {
            "surge_id": s.surge_id,
            "region_code": s.region_code,
            "product_category": s.category,
            "signal": "complaints",
            "start": s.start.isoformat(),
            "end": s.end.isoformat(),
            "counties": list(s.places),
            "extra_per_day": (split_extra or {}).get(s.surge_id, s.extra_per_day),
            "times_normal": s.times_normal,
            "shape": s.shape,
            "evident_from": evident[s.surge_id].isoformat() if s.surge_id in evident else None,
        }
        for s in pop.surges
    ]
    seasonal = [
        {"product_category": cat, "region_code": None, "months": list(SEASON_MONTHS), "factor": f}
        for cat, f in SEASONAL
    ]
    return {
        "seed": cfg.seed,
        "scale": cfg.scale,
        "population_seed": cfg.actors_seed,
        "as_of": cfg.as_of.isoformat(),
        "history_start": cfg.history_start.isoformat(),
        "operators": operators,
        "decoys": decoys,
        "surges": surges,
        "seasonal": seasonal,
        "bad_rows": log.bad_rows,
        "uscc_findings": log.uscc_findings,
        "bad_files": log.bad_files,
        "phones": sorted(phones),
    }


def write_truth(path: Path, truth: dict[str, object], as_of: dt.date) -> None:
    """Write truth.json (UTF-8, stable layout) stamped with the end of the as-of day."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    stamp = epoch_seconds(dt.datetime.combine(as_of, dt.time(23, 59)))
    os.utime(path, (stamp, stamp))
