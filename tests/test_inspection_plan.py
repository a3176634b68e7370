"""双随机、一公开: reproducible and fair plans, team rotation, the public list's privacy, and the
两法衔接 / 线索通报 lists made from the leads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import openpyxl
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from data_contracts.contract import contracts, provinces
from flows.plan_commands import register
from models.handoff_lists import handoff_list, referral_review_list
from models.inspection_plan import (
    CONFIG_PATH,
    ELIGIBLE_SCHEMA,
    DrawParameters,
    compare_plans,
    draw_plan,
    eligible_sha256,
    has_trade_name,
    load_plan_config,
    make_plan,
    public_results,
    tier_rates,
)
from reports.handoff_files import write_handoff_list, write_referral_review_list
from reports.plan_files import read_plan, verify_plan, write_plan, write_public_results
from tests.conftest import make_uscc
from transforms.load import ensure_warehouse

CONFIG = load_plan_config()
WEIGHTS = CONFIG.weights  # D 10, C 4, B 2, A 1
XINING, HAIDONG = "630100", "630200"


# --- a tiny warehouse ------------------------------------------------------------------------


def insert_feed(con: duckdb.DuckDBPyConnection, feed: str, rows: list[dict[str, Any]]) -> None:
    """Accepted rows of a feed, as the loader would have put them in staging."""
    if not rows:
        return
    cols = [c.name for c in contracts()[feed].staging_columns]
    placeholders = ", ".join("?" for _ in range(len(cols) + 4))
    con.executemany(
        f"insert into staging.{feed}_history ({', '.join(cols)}, _file, _sha256, _row_number, "
        f"_delivered) values ({placeholders})",
        [[r.get(c) for c in cols] + [f"{feed}.csv", "sha", i + 1, 0.0] for i, r in enumerate(rows)],
    )


def entity(code: str, name: str, county: str = "630102", **kw: Any) -> dict[str, Any]:
    return {
        "uscc": code,
        "name": name,
        "region_code": county,
        "entity_type": "company",
        "status": "active",
    } | kw


def inspection(
    iid: str, uscc: str | None, team: str, on: str, county: str = "630102", **kw: Any
) -> dict[str, Any]:
    return {
        "inspection_id": iid,
        "inspected_on": dt.date.fromisoformat(on),
        "region_code": county,
        "entity_name": "某商户",
        "entity_uscc": uscc,
        "product_category": "other",
        "inspection_type": "double_random",
        "result": "pass",
        "inspector_team": team,
    } | kw


def lead(lead_id: str, uscc: str, score: float, **kw: Any) -> dict[str, Any]:
    return {
        "lead_id": lead_id,
        "entity_name": f"主体{lead_id}",
        "uscc": uscc,
        "region_code": "630102",
        "score": score,
        "risk_level": "high" if score >= 0.6 else "low",
        "reasons": "理由",
        "referral_review": False,
        "handoff_region_code": None,
        "estimated_turnover_cny": 0.0,
    } | kw


LEADS_DDL = """
create or replace table core.entity_keys (key VARCHAR, entity_id VARCHAR);
create or replace table scores.entity_leads (
  rank BIGINT, lead_id VARCHAR, entity_name VARCHAR, uscc VARCHAR, shop_keys VARCHAR,
  region_code VARCHAR, product_categories VARCHAR, score DOUBLE, risk_level VARCHAR,
  reasons VARCHAR, referral_review BOOLEAN, handoff_region_code VARCHAR,
  estimated_turnover_cny DOUBLE);
create or replace table features.entity_features (
  entity_id VARCHAR, counterfeit_voices_180d DOUBLE, complaints_180d BIGINT,
  failed_inspections_365d BIGINT, severe_failures_365d BIGINT, seized_value_365d DOUBLE,
  prior_confirmed BIGINT, penalties_3y BIGINT);
create or replace table features.entity_profile (entity_id VARCHAR, usccs VARCHAR);
"""


LEAD_FIELDS = [
    "lead_id",
    "entity_name",
    "uscc",
    "region_code",
    "score",
    "risk_level",
    "reasons",
    "referral_review",
    "handoff_region_code",
    "estimated_turnover_cny",
]


def build_warehouse(
    con: duckdb.DuckDBPyConnection,
    entities: list[dict[str, Any]],
    leads: list[dict[str, Any]] | None = None,
    inspections: list[dict[str, Any]] | None = None,
    features: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Staging entities and inspections, and the last run's leads with their features."""
    ensure_warehouse(con)
    con.execute(LEADS_DDL)
    insert_feed(con, "entities", entities)
    insert_feed(con, "inspections", inspections or [])
    ranked = sorted(leads or [], key=lambda r: -r["score"])
    for rank, r in enumerate(ranked, start=1):
        con.execute(
            f"insert into scores.entity_leads (rank, {', '.join(LEAD_FIELDS)}) "
            f"values (?{', ?' * len(LEAD_FIELDS)})",
            [rank] + [r[c] for c in LEAD_FIELDS],
        )
        con.execute(
            "insert into core.entity_keys values (?, ?)", [f"uscc:{r['uscc']}", r["lead_id"]]
        )
        f = (features or {}).get(r["lead_id"], {})
        con.execute(
            "insert into features.entity_features values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                r["lead_id"],
                f.get("voices", 0.0),
                f.get("complaints", 0),
                f.get("failed", 0),
                f.get("severe", 0),
                f.get("seized", 0.0),
                f.get("confirmed", 0),
                f.get("penalties", 0),
            ],
        )
        con.execute("insert into features.entity_profile values (?, ?)", [r["lead_id"], r["uscc"]])


def register_of(n_xining: int, n_haidong: int) -> list[dict[str, Any]]:
    rows = [
        entity(make_uscc(f"91630102MA{i:07d}"), f"西宁测试{i}有限公司", "630102")
        for i in range(n_xining)
    ]
    rows += [
        entity(make_uscc(f"91630202MA{i:07d}"), f"乐都测试{i}有限公司", "630202")
        for i in range(n_haidong)
    ]
    return rows


@pytest.fixture
def register_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """300 + 200 active entities; a tenth of them with leads of every tier."""
    rows = register_of(300, 200)
    scores = [0.9, 0.45, 0.1]
    leads = [lead(f"L{i}", r["uscc"], scores[i % 3]) for i, r in enumerate(rows[::10])]
    build_warehouse(con, rows, leads)
    return con


# --- reproducibility -------------------------------------------------------------------------


def test_same_seed_gives_the_same_plan_and_hash(register_con: duckdb.DuckDBPyConnection) -> None:
    first = make_plan(register_con, "2026-07", 0.1, seed=11)
    again = make_plan(register_con, "2026-07", 0.1, seed=11)
    other = make_plan(register_con, "2026-07", 0.1, seed=12)

    assert first.targets.equals(again.targets)
    assert first.manifest == again.manifest
    assert first.manifest["seed"] == 11
    assert first.manifest["eligible"]["sha256"] == other.manifest["eligible"]["sha256"]
    assert set(first.targets["uscc"]) != set(other.targets["uscc"])
    assert 30 <= first.targets.height <= 70  # 10 % of 500, give or take the rounding


def test_the_eligible_hash_is_the_documented_one(register_con: duckdb.DuckDBPyConnection) -> None:
    import hashlib

    plan = make_plan(register_con, "2026-07", 0.05, seed=1)
    lines = sorted(f"{u},{t}\n" for u, t in plan.eligible.select("uscc", "tier").iter_rows())
    expected = hashlib.sha256("".join(lines).encode()).hexdigest()
    assert plan.manifest["eligible"]["sha256"] == expected == eligible_sha256(plan.eligible)
    reordered = plan.eligible.sample(fraction=1.0, shuffle=True, seed=3)
    assert eligible_sha256(reordered) == expected


def test_a_written_plan_verifies_and_tampering_is_caught(
    register_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    plan = make_plan(register_con, "2026-07", 0.1, seed=5)
    write_plan(plan, tmp_path)
    folder = tmp_path / "plans" / "2026-07"
    assert {p.name for p in folder.iterdir()} >= {"plan.csv", "plan.xlsx", "manifest.json"}
    assert (folder / "plan.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert verify_plan(tmp_path, "2026-07") == []
    assert read_plan(tmp_path, "2026-07")["uscc"].to_list() == plan.targets["uscc"].to_list()

    plan_csv = folder / "plan.csv"
    text = plan_csv.read_text(encoding="utf-8-sig")
    first_team = plan.targets["inspector_team"][0]
    plan_csv.write_text(text.replace(first_team, "冒名检查组", 1), encoding="utf-8-sig")
    assert verify_plan(tmp_path, "2026-07")  # a swapped team no longer re-draws

    eligible_csv = folder / "eligible.csv"
    eligible_csv.write_text(
        eligible_csv.read_text(encoding="utf-8-sig").replace(",A\n", ",D\n", 1), encoding="utf-8"
    )
    assert any("SHA-256" in p for p in verify_plan(tmp_path, "2026-07"))


def test_only_active_in_province_entities_are_drawn(con: duckdb.DuckDBPyConnection) -> None:
    rows = register_of(40, 0)
    rows += [
        entity(make_uscc("91440106MA0000001"), "广州外省有限公司", "440106"),
        entity(make_uscc("91630102MA9000001"), "吊销有限公司", status="revoked"),
        entity(make_uscc("91630102MA9000002"), "注销有限公司", status="cancelled"),
    ]
    build_warehouse(con, rows)
    plan = make_plan(con, "2026-07", 1.0, seed=1)  # share 1: every eligible entity
    assert plan.manifest["eligible"]["count"] == 40
    assert set(plan.targets["uscc"]) == {r["uscc"] for r in rows[:40]}


# --- fairness --------------------------------------------------------------------------------


def test_tier_rates_keep_the_weights_and_the_expected_total() -> None:
    counts = {"D": 20, "C": 60, "B": 300, "A": 1000}
    rates = tier_rates(counts, WEIGHTS, 0.05)
    assert sum(rates[t] * n for t, n in counts.items()) == pytest.approx(0.05 * 1380)
    assert rates["D"] / rates["A"] == pytest.approx(10)
    assert rates["C"] / rates["B"] == pytest.approx(2)
    # A tier whose rate would pass 100 % is capped; the rest of the total goes to the others.
    capped = tier_rates({"D": 10, "A": 100}, {"D": 100.0, "A": 1.0}, 0.2)
    assert capped == {"D": 1.0, "A": pytest.approx(0.12)}


def synthetic_register(counts: dict[str, int], prefecture: str = XINING) -> pl.DataFrame:
    rows = [
        {
            "uscc": f"U{tier}{i:06d}",
            "prefecture_code": prefecture,
            "prefecture_name": "测试州",
            "tier": tier,
        }
        for tier, n in counts.items()
        for i in range(n)
    ]
    frame = pl.DataFrame(rows)
    missing = [
        pl.lit(None, dtype=t).alias(c) for c, t in ELIGIBLE_SCHEMA.items() if c not in frame.columns
    ]
    return frame.with_columns(missing).select(list(ELIGIBLE_SCHEMA)).cast(ELIGIBLE_SCHEMA)


def test_realised_tier_rates_honour_the_configured_ones() -> None:
    counts = {"D": 400, "C": 1200, "B": 6000, "A": 14000}
    eligible = synthetic_register(counts)
    rates = tier_rates(counts, WEIGHTS, 0.05)
    for seed in (1, 2, 3):
        targets, draws = draw_plan(eligible, DrawParameters(seed, 0.05, WEIGHTS), {}, {})
        drawn = dict(targets.group_by("tier").len().iter_rows())
        for tier, n in counts.items():
            assert drawn[tier] / n == pytest.approx(rates[tier], abs=1 / n)
        assert targets.height == pytest.approx(0.05 * sum(counts.values()), abs=4)
        assert {s.tier: s.rate for s in draws[0].strata} == rates
    assert rates["D"] > rates["C"] > rates["B"] > rates["A"] > 0


def test_every_active_entity_has_a_non_zero_chance_and_gets_it() -> None:
    counts = {"D": 3, "C": 5, "B": 30, "A": 62}
    eligible = synthetic_register(counts)
    rates = tier_rates(counts, WEIGHTS, 0.05)
    assert all(r > 0 for r in rates.values())
    seeds = range(1500)
    hits: dict[str, int] = dict.fromkeys(eligible["uscc"].to_list(), 0)
    for seed in seeds:
        targets, _ = draw_plan(eligible, DrawParameters(seed, 0.05, WEIGHTS), {}, {})
        for u in targets["uscc"].to_list():
            hits[u] += 1
    assert min(hits.values()) > 0  # even the lowest tier's entities are drawn
    for tier, rate in rates.items():
        members = [u for u in hits if u[1] == tier]
        frequency = sum(hits[u] for u in members) / (len(members) * len(seeds))
        assert frequency == pytest.approx(rate, rel=0.15)
        # and within a tier, no entity is favoured: the drawn counts look binomial
        per_entity = np.array([hits[u] for u in members]) / len(seeds)
        assert per_entity.max() < rate + 5 * np.sqrt(rate * (1 - rate) / len(seeds)) + 1e-9


def test_a_weight_of_zero_is_refused(tmp_path: Path) -> None:
    text = CONFIG_PATH.read_text(encoding="utf-8")
    bad = tmp_path / "plan.yaml"
    bad.write_text(text.replace("weight: 1}", "weight: 0}"), encoding="utf-8")
    with pytest.raises(ValueError, match="non-zero chance"):
        load_plan_config(bad)


def test_tiers_come_from_the_entity_lead_scores(register_con: duckdb.DuckDBPyConnection) -> None:
    plan = make_plan(register_con, "2026-07", 0.05, seed=1)
    tiers = dict(plan.eligible.group_by("tier").len().iter_rows())
    assert tiers == {"D": 17, "C": 17, "B": 16, "A": 450}  # every 10th entity has a lead


# --- team rotation ---------------------------------------------------------------------------


def test_a_team_never_inspects_the_entity_it_inspected_last(con: duckdb.DuckDBPyConnection) -> None:
    rows = register_of(60, 30)
    teams_x = ["西宁一队", "西宁二队", "西宁三队"]
    inspections = []
    for i, r in enumerate(rows[:60]):  # two earlier visits: the later one decides
        inspections.append(inspection(f"I{i}a", r["uscc"], teams_x[(i + 1) % 3], "2025-03-01"))
        inspections.append(inspection(f"I{i}b", r["uscc"], teams_x[i % 3], "2026-05-20"))
    # a visit inside the round is not "the last before the plan"
    inspections.append(inspection("LATE", rows[0]["uscc"], "西宁二队", "2026-07-03"))
    inspections.append(
        inspection("H0", rows[60]["uscc"], "乐都一队", "2026-01-05", county="630202")
    )
    build_warehouse(con, rows, inspections=inspections)

    plan = make_plan(con, "2026-07", 1.0, seed=3).targets
    xining = plan.filter(pl.col("prefecture_code") == XINING)
    assert xining.height == 60
    assert (xining["inspector_team"] != xining["last_team"]).all()
    assert xining["last_team"].to_list() == [teams_x[i % 3] for i in range(60)]
    assert set(xining["inspector_team"]) == set(teams_x)  # the roster seen in the feed
    loads = xining.group_by("inspector_team").len()["len"].to_list()
    assert max(loads) - min(loads) <= 1  # least-loaded first: the work is spread evenly
    haidong = plan.filter(pl.col("prefecture_code") == HAIDONG)
    # only one team was ever seen in Haidong: it cannot inspect its own last entity again
    last = haidong.filter(pl.col("last_team") == "乐都一队")
    assert last.height == 1 and last["inspector_team"].null_count() == 1
    assert set(haidong["inspector_team"].drop_nulls()) == {"乐都一队"}


def test_the_demo_roster_is_used_when_so_configured(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = register_of(10, 0)
    build_warehouse(
        con, rows, inspections=[inspection("I0", rows[0]["uscc"], "外来队", "2026-01-01")]
    )
    text = CONFIG_PATH.read_text(encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(text.replace("roster_source: inspections", "roster_source: config"), "utf-8")
    plan = make_plan(con, "2026-07", 1.0, seed=1, config=load_plan_config(path)).targets
    assert set(plan["inspector_team"]) <= set(CONFIG.roster[XINING])


# --- 一公开: the public results list ----------------------------------------------------------


def test_the_public_list_shows_no_owner_name(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    zhang = make_uscc("92630102MA0000001")
    li = make_uscc("92630102MA0000002")
    shop = make_uscc("92630102MA0000003")
    firm = make_uscc("91630102MA0000004")
    gone = make_uscc("91630102MA0000005")
    rows = [
        entity(zhang, "张三丰", entity_type="individual_business"),
        entity(li, "西宁市城东区李小红（个体工商户）", entity_type="individual_business"),
        entity(shop, "城东区嘉辉药店", entity_type="individual_business"),
        entity(firm, "青海示例商贸有限公司"),
        entity(gone, "青海未抽中有限公司"),
    ]
    inspections = [
        # feed without a valid USCC: matched by the registered name, shown masked
        inspection("R1", None, "一队", "2026-07-02", entity_name="张三丰"),
        inspection("R2", li, "一队", "2026-07-03", result="fail", violation_type="mislabeled"),
        inspection(
            "R3", shop, "二队", "2026-07-04", result="fail", violation_type="counterfeit_trademark"
        ),
        inspection("R4", firm, "二队", "2026-07-05", result="pending"),
        inspection("R5", firm, "二队", "2026-07-06", inspection_type="targeted"),
        inspection("R6", firm, "二队", "2026-08-01"),
    ]
    build_warehouse(con, rows, inspections=inspections)
    plan = make_plan(con, "2026-07", 1.0, seed=1).targets.filter(pl.col("uscc") != gone)
    published = public_results(con, plan, "2026-07")
    paths = write_public_results(published, tmp_path, "2026-07")

    results = published.results
    assert results.columns == [
        "round",
        "uscc",
        "entity_name",
        "county_name",
        "inspected_on",
        "result",
        "violation_type",
    ]
    assert results["uscc"].to_list() == [zhang, li, shop]  # not pending, targeted or August
    names = dict(zip(results["uscc"], results["entity_name"], strict=True))
    assert names[zhang] == "张**（个体工商户）"
    assert names[li] == "李**（个体工商户）"
    assert names[shop] == "城东区嘉辉药店"  # a trade name is public
    assert results["violation_type"].to_list() == [None, "标识不规范", "假冒注册商标"]
    assert results["result"].to_list() == ["合格", "不合格", "不合格"]
    assert (published.planned, published.inspected, published.pending) == (4, 4, 1)

    csv_text = paths[0].read_text(encoding="utf-8-sig")
    book = openpyxl.load_workbook(paths[1])
    cells = " ".join(str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row)
    for text in (csv_text, cells):
        assert "张三丰" not in text and "三丰" not in text
        assert "李小红" not in text and "小红" not in text
        assert zhang in text and li in text


@pytest.mark.parametrize(
    ("name", "trade_name"),
    [
        ("张三", False),
        ("欧阳娜娜", False),
        ("扎西·多杰", False),
        ("西宁市城中区马小花", False),
        ("王建国", False),
        ("深圳市宝安区张三", False),  # an unknown prefix, but no business word
        ("湟源县和天农资商行", True),
        ("嘉辉药店", True),
        ("玛沁县美新汽车配件经营部", True),
    ],
)
def test_which_individual_businesses_have_a_trade_name(name: str, trade_name: bool) -> None:
    assert has_trade_name(name, CONFIG.business_words) is trade_name


# --- 两法衔接 and 线索通报 lists --------------------------------------------------------------


@pytest.fixture
def leads_con(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    leads = [
        lead(
            "L1",
            make_uscc("92630102MA0000011"),
            0.95,
            referral_review=True,
            estimated_turnover_cny=120000.0,
        ),
        lead(
            "L2",
            make_uscc("91440106MA0000012"),
            0.90,
            referral_review=True,
            handoff_region_code="440106",
            estimated_turnover_cny=80000.0,
        ),
        lead("L3", make_uscc("91440306MA0000013"), 0.40, handoff_region_code="440306"),
        lead("L4", make_uscc("91330102MA0000014"), 0.70, handoff_region_code="330102"),
        lead("L5", make_uscc("91630102MA0000015"), 0.30),
        lead("L6", make_uscc("91440111MA0000016"), 0.97, handoff_region_code="440111"),
    ]
    features = {
        "L1": {
            "voices": 7.0,
            "complaints": 9,
            "failed": 2,
            "severe": 1,
            "seized": 23000.0,
            "confirmed": 1,
        },
        "L2": {"voices": 3.0, "complaints": 3, "penalties": 2},
    }
    build_warehouse(con, [], leads, features=features)
    return con


def test_the_referral_list_holds_flagged_leads_with_their_evidence(
    leads_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    frame = referral_review_list(leads_con)
    assert frame["lead_id"].to_list() == ["L1", "L2"]
    assert frame["list_rank"].to_list() == [1, 2]
    first = frame.row(0, named=True)
    assert (first["credible_complaints_180d"], first["failed_inspections_365d"]) == (7.0, 2)
    assert first["seized_value_365d"] == 23000.0 and first["estimated_turnover_cny"] == 120000.0
    assert "可信假冒/质量投诉7起" in first["evidence_summary"]
    assert "检查不合格2次" in first["evidence_summary"]
    assert "查扣货值23,000元" in first["evidence_summary"]
    assert "估算违法经营额120,000元" in first["evidence_summary"]
    assert first["county_name"] == "城东区"
    assert "3年内行政处罚2次" in frame["evidence_summary"][1]
    csv_path, xlsx_path = write_referral_review_list(frame, tmp_path)
    header = openpyxl.load_workbook(xlsx_path).worksheets[0][1]
    assert [c.value for c in header][:3] == ["序号", "线索排名", "线索编号"]
    assert csv_path.read_bytes().startswith(b"\xef\xbb\xbf")


def test_the_handoff_list_is_grouped_by_province_of_registration(
    leads_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    frame = handoff_list(leads_con)
    assert frame.select("province_code", "province_name", "lead_id").rows() == [
        ("33", "浙江省", "L4"),
        ("44", "广东省", "L6"),  # best lead first within a province
        ("44", "广东省", "L2"),
        ("44", "广东省", "L3"),
    ]
    _, xlsx_path = write_handoff_list(frame, tmp_path)
    book = openpyxl.load_workbook(xlsx_path)
    assert book.sheetnames == ["线索通报（全部）", "浙江省", "广东省", "说明"]
    guangdong = [r[4] for r in book["广东省"].iter_rows(min_row=2, values_only=True)]
    assert guangdong == ["L6", "L2", "L3"]


def test_the_lists_workbooks_speak_chinese_and_filter(
    leads_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Issue 23 part 5: risk levels, shops and categories in words in the workbook (the CSV
    keeps the codes other systems read), and a filter on every list sheet."""
    frame = referral_review_list(leads_con)
    csv_path, xlsx_path = write_referral_review_list(frame, tmp_path)
    book = openpyxl.load_workbook(xlsx_path)
    ws = book.worksheets[0]
    headers = [c.value for c in ws[1]]
    first = dict(zip(headers, [c.value for c in ws[2]], strict=True))
    assert first["风险等级"] in {"高", "中", "低"}
    assert frame["risk_level"][0] in {"high", "medium", "low"}
    assert ws.auto_filter.ref == f"A1:{ws.cell(1, len(headers)).column_letter}{frame.height + 1}"
    assert "risk_level" in csv_path.read_text(encoding="utf-8-sig").splitlines()[0]
    _, handoff_xlsx = write_handoff_list(handoff_list(leads_con), tmp_path)
    for sheet in openpyxl.load_workbook(handoff_xlsx).worksheets[:-1]:  # not the notes
        assert sheet.auto_filter.ref and sheet.auto_filter.ref.startswith("A1:"), sheet.title


def test_the_province_table_covers_every_province() -> None:
    table = provinces()
    assert len([c for c in table if c < "70"]) == 31
    assert table["63"] == "青海省" and table["65"] == "新疆维吾尔自治区"


# --- evaluation and the commands -------------------------------------------------------------


def test_a_risk_weighted_plan_finds_more_violations_than_a_uniform_draw(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    rows = register_of(400, 0)
    operators = [r["uscc"] for r in rows[:20]]
    leads = [lead(f"L{i}", u, 0.9) for i, u in enumerate(operators)]
    build_warehouse(con, rows, leads)
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps({"as_of": "2026-06-30", "operators": [{"usccs": operators}]}))
    table = compare_plans(con, truth, 0.05, [1, 2, 3, 4, 5])
    means = dict(table.group_by("plan").agg(pl.col("violations_per_inspection").mean()).iter_rows())
    assert means["risk_weighted"] > 2 * means["uniform"]
    sizes = table.pivot(on="plan", index="seed", values="inspections")
    assert (sizes["risk_weighted"] == sizes["uniform"]).all()


def test_the_commands_write_their_files(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as file_con:
        rows = register_of(50, 20)
        leads = [
            lead("L1", rows[0]["uscc"], 0.9, referral_review=True, handoff_region_code="440106")
        ]
        build_warehouse(file_con, rows, leads)
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    common = ["--warehouse", str(warehouse), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, ["plan-inspections", "--round", "2026-07", "--seed", "4", *common])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/plans/2026-07/manifest.json").exists()
    result = runner.invoke(app, ["publish-results", "--round", "2026-07", *common])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out/plans/2026-07/public_results.xlsx").exists()
    for command, name in (
        ("referral-list", "referral_review"),
        ("handoff-list", "handoff_by_province"),
    ):
        result = runner.invoke(app, [command, "--as-of", "2026-06-30", *common])
        assert result.exit_code == 0, result.output
        assert (tmp_path / f"out/2026-06-30/{name}.csv").exists()
    result = runner.invoke(app, ["plan-inspections", "--round", "2026-13", "--seed", "1", *common])
    assert result.exit_code != 0
