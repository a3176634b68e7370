"""Shared by the report tests: one nightly run of the small demo world with its reports, and
tiny hand-written exports for fast checks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

from demo_world.config import DEFAULT_AS_OF
from flows.nightly import RunResult, nightly
from reports.build import build_reports

TINY_AS_OF = dt.date(2026, 6, 30)


@dataclass(frozen=True)
class ReportedRun:
    run: RunResult
    warehouse: Path
    reports: list[Path]


_RUNS: dict[Path, ReportedRun] = {}


def reported_run(world: Path, tmp_path_factory: pytest.TempPathFactory) -> ReportedRun:
    """The small world run once per test session (both report test modules share it), then
    its reports built with the warehouse opened read-only."""
    if world not in _RUNS:
        base = tmp_path_factory.mktemp("reported")
        warehouse = base / "warehouse.duckdb"
        run = nightly(
            landing=world / "landing", warehouse=warehouse, as_of=DEFAULT_AS_OF, out=base / "out"
        )
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            reports = build_reports(run.out_dir, con, run.as_of)
        finally:
            con.close()
        _RUNS[world] = ReportedRun(run, warehouse, reports)
    return _RUNS[world]


def write_tiny_exports(out: Path, as_of: dt.date = TINY_AS_OF) -> Path:
    """Four hand-made exports in OUT/<as-of>/: two prefectures, one lead with no region."""
    run_dir = out / as_of.isoformat()
    run_dir.mkdir(parents=True, exist_ok=True)
    leads = pl.DataFrame(
        {
            "rank": [1, 2, 3],
            "lead_id": ["CR-XINING00001", "CR-HAIXI000002", "CR-NOWHERE0003"],
            "entity_name": ['<script>alert("x")</script>城东&商行', "格尔木某油品店", "外省某公司"],
            "uscc": ["91630102MA0000000X", None, "91330100MA0000000Y"],
            "shop_keys": ["taobao:TB001;jd:JD002", "", "pdd:PDD9"],
            "region_code": ["630102", "632801", None],
            "product_categories": ["seeds", "fuel", "mobile_phones"],
            "score": [0.97, 0.55, 0.2],
            "risk_level": ["high", "medium", "low"],
            "reasons": [
                "近180天5起可信的假冒/质量投诉（共6起）/ 5 credible complaints；曾查实1起 / 1 earlier confirmed cases",
                "3家店铺共用同一联系方式 / 3 shops share one contact",
                "仅有少量风险信号 / only weak risk signals",
            ],
            "referral_review": [True, False, False],
            "handoff_region_code": [None, "440300", "330100"],
        }
    )
    hotspots = pl.DataFrame(
        {
            "rank": [1, 2, 3],
            "region_code": ["632801", "630102", "630100"],
            "product_category": ["fuel", "seeds", "seeds"],
            "score": [0.9, 0.7, 0.6],
            "trend": ["rising", "stable", "falling"],
            "reasons": ["近90天可信投诉9起 / 9 credible complaints in 90 days"] * 3,
            "observed": [18.0, 7.0, 30.0],
            "expected": [1.5, 2.5, 19.0],
            "relative_risk": [9.0, 2.33, 1.5],
        }
    )
    alerts = pl.DataFrame(
        {
            "alert_id": ["AL-xining000001", "AL-haixi0000002"],
            "alert_date": [dt.date(2026, 6, 20), dt.date(2026, 5, 1)],
            "region_code": ["630102", "632800"],
            "product_category": ["seeds", "fuel"],
            "signal": ["complaints", "combined"],
            "observed": [12.0, 9.0],
            "expected": [2.0, 1.5],
            "severity": ["high", "medium"],
        }
    )
    quality = pl.DataFrame(
        {
            "feed": ["complaints", "credit"],
            "file": ["complaints/2026-06/12315.csv", "credit/2026Q2/补充.csv"],
            "status": ["loaded", "rejected"],
            "rows_read": [100, 5],
            "rows_accepted": [98, 0],
            "rows_quarantined": [2, 0],
            "issues": ["隔离 quarantined 2× amount_cny: 超出范围 value out of range", "缺少必填列"],
        }
    )
    for name, frame in [
        ("entity_leads", leads),
        ("hotspots", hotspots),
        ("alerts", alerts),
        ("data_quality", quality),
    ]:
        frame.write_csv(run_dir / f"{name}.csv", include_bom=True, null_value="")
    return run_dir
