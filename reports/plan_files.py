"""The files of a 双随机 round under OUT/plans/<round>/: the plan (plan.csv / plan.xlsx), its
eligible list (eligible.csv: uscc, prefecture, tier), its manifest (manifest.json: seed, shares,
the eligible list's SHA-256) and the public results list (public_results.csv / .xlsx).
`verify_plan` re-draws a written plan from its manifest and eligible list
(`models.inspection_plan.draw_plan`)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from models.inspection_plan import (
    ELIGIBLE_SCHEMA,
    HASH_RULE,
    PLAN_HEADERS_ZH,
    PUBLIC_HEADERS_ZH,
    RNG_RULE,
    DrawParameters,
    InspectionPlan,
    PublicResults,
    draw_plan,
    eligible_sha256,
)
from reports.sheets import write_list
from transforms.exports import write_csv


def plan_dir(out: Path, round_: str) -> Path:
    """OUT/plans/<round>/, where a round's plan and its public results live."""
    return out / "plans" / round_


def write_plan(plan: InspectionPlan, out: Path) -> list[Path]:
    """plan.csv / plan.xlsx, eligible.csv (uscc, prefecture, tier) and manifest.json."""
    directory = plan_dir(out, plan.round)
    m = plan.manifest
    notes = [
        ("抽查批次 round", plan.round),
        ("随机种子 seed", str(m["seed"])),
        ("抽查比例 share", str(m["share"])),
        ("名录数 eligible", str(m["eligible"]["count"])),
        ("名录哈希 eligible SHA-256", m["eligible"]["sha256"]),
        ("哈希规则 hash rule", HASH_RULE),
        ("随机数规则 generator", RNG_RULE),
    ]
    for d in m["prefectures"]:
        rates = "；".join(
            f"{s['tier']}类 {s['drawn']}/{s['eligible']}（抽取率{s['rate']:.2%}）"
            for s in d["strata"]
        )
        notes.append((f"{d['prefecture_name']} {d['prefecture_code']}", rates))
    paths = write_list(
        plan.targets, directory, "plan", PLAN_HEADERS_ZH, "双随机抽查计划", notes=notes
    )
    eligible_csv = directory / "eligible.csv"
    write_csv(
        plan.eligible.select("uscc", "prefecture_code", "prefecture_name", "tier").sort("uscc"),
        eligible_csv,
    )
    manifest_path = directory / "manifest.json"
    manifest_path.write_text(
        json.dumps(
            m | {"files": [p.name for p in [*paths, eligible_csv]]}, ensure_ascii=False, indent=2
        )
        + "\n",
        encoding="utf-8",
    )
    return [*paths, eligible_csv, manifest_path]


def _read_text_csv(path: Path) -> pl.DataFrame:
    """A CSV of this module read back with every column as text (codes keep leading digits)."""
    return pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")


def read_plan(out: Path, round_: str) -> pl.DataFrame:
    """The written plan of a round."""
    path = plan_dir(out, round_) / "plan.csv"
    if not path.exists():
        raise FileNotFoundError(f"no plan for round {round_}: {path} (run plan-inspections first)")
    return _read_text_csv(path).with_columns(pl.col("inclusion_probability").cast(pl.Float64))


def verify_plan(out: Path, round_: str) -> list[str]:
    """Re-draw a written plan from its manifest and eligible list; returns the differences
    found (an empty list when the plan is exactly what its seed and inputs give)."""
    directory = plan_dir(out, round_)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    eligible = _read_text_csv(directory / "eligible.csv")
    plan = read_plan(out, round_)
    problems = []
    if eligible_sha256(eligible) != manifest["eligible"]["sha256"]:
        problems.append("eligible.csv does not match the SHA-256 in the manifest")
    params = DrawParameters(
        int(manifest["seed"]),
        float(manifest["share"]),
        {t["tier"]: float(t["weight"]) for t in manifest["tiers"]},
        float(manifest["max_rate"]),
    )
    roster = {d["prefecture_code"]: d["teams"] for d in manifest["prefectures"]}
    last = {
        u: t for u, t in zip(plan["uscc"], plan["last_team"], strict=True) if t not in (None, "")
    }
    missing = [
        pl.lit(None, dtype=t).alias(c)
        for c, t in ELIGIBLE_SCHEMA.items()
        if c not in eligible.columns
    ]
    full = eligible.with_columns(missing).select(list(ELIGIBLE_SCHEMA)).cast(ELIGIBLE_SCHEMA)
    redrawn, _ = draw_plan(full, params, roster, last)
    expected = sorted(zip(redrawn["uscc"], redrawn["inspector_team"].fill_null(""), strict=True))
    actual = sorted(zip(plan["uscc"], plan["inspector_team"].fill_null(""), strict=True))
    if expected != actual:
        problems.append(
            f"re-drawing gives {len(expected)} targets, the plan has {len(actual)}; "
            f"{len(set(expected) ^ set(actual))} (target, team) pairs differ"
        )
    return problems


def write_public_results(published: PublicResults, out: Path, round_: str) -> list[Path]:
    """public_results.csv and .xlsx (双随机抽查结果公示) next to the round's plan."""
    notes = [
        ("抽查批次", round_),
        ("计划抽查主体", str(published.planned)),
        ("已反馈检查的主体", str(published.inspected)),
        ("公示结果", str(published.results.height)),
        ("结果待定（暂不公示）", str(published.pending)),
        ("说明", "未使用字号的个体工商户仅公示统一社会信用代码及隐去经营者姓名的名称"),
    ]
    return write_list(
        published.results,
        plan_dir(out, round_),
        "public_results",
        PUBLIC_HEADERS_ZH,
        "双随机抽查结果公示",
        notes=notes,
    )
