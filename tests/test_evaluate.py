"""Evaluation against a tiny hand-made truth.json and hand-made exports."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from data_contracts.contract import contracts
from demo_world.evaluate import evaluate, format_report, load_truth

AS_OF = "2026-06-30"

TRUTH = {
    "seed": 1,
    "scale": 0.01,
    "as_of": AS_OF,
    "history_start": "2025-01-07",
    "operators": [
        {
            "operator_id": "OP001",
            "kind": "online_ring",
            "product_categories": ["mobile_phones"],
            "region_code": "630102",
            "shop_keys": ["taobao:TB1", "taobao:TB2", "pinduoduo:PD1"],
            "usccs": [],
            "names": ["西宁甲商贸"],
            "contact_hashes": [],
        },
        {
            "operator_id": "OP002",
            "kind": "offline_seller",
            "product_categories": ["seeds"],
            "region_code": "630222",
            "shop_keys": [],
            "usccs": ["91630222MA0000001X"],
            "names": ["民和乙种业"],
            "contact_hashes": [],
        },
        {
            "operator_id": "OP003",
            "kind": "mixed",
            "product_categories": ["auto_parts"],
            "region_code": "632801",
            "shop_keys": ["jd:JD1", "jd:JD2"],
            "usccs": ["91632801MA0000002Y"],
            "names": ["格尔木丙汽配"],
            "contact_hashes": [],
        },
    ],
    "decoys": [
        {
            "decoy_id": "DC001",
            "kind": "flagship_store",
            "shop_keys": ["tmall:TM1"],
            "usccs": ["91630100MA0000009Z"],
            "names": ["某品牌官方旗舰店"],
        }
    ],
    "surges": [
        {
            "surge_id": "SG01",
            "region_code": "630222",
            "product_category": "seeds",
            "signal": "complaints",
            "start": "2026-05-01",
            "end": "2026-05-20",
            "extra_per_day": 2.0,
            "shape": "ramp",
            "evident_from": "2026-05-04",  # its 3rd planted complaint
        },
        {
            "surge_id": "SG02",
            "region_code": "632801",
            "product_category": "fuel",
            "signal": "complaints",
            "start": "2026-06-01",
            "end": "2026-06-21",
            "extra_per_day": 2.0,
        },
        {  # long before the look-back window: not counted
            "surge_id": "SG03",
            "region_code": "632801",
            "product_category": "fuel",
            "signal": "complaints",
            "start": "2025-06-01",
            "end": "2025-06-21",
            "extra_per_day": 2.0,
        },
    ],
    "seasonal": [
        {"product_category": "seeds", "region_code": None, "months": [3, 4, 5], "factor": 2}
    ],
    "bad_rows": [],
    "uscc_findings": [],
    "bad_files": [],
    "phones": [],
}

LEAD_HEADER = (
    "rank,lead_id,entity_name,uscc,shop_keys,region_code,product_categories,score,risk_level,"
    "reasons,referral_review,handoff_region_code,usccs"
)
ALERT_HEADER = "alert_id,alert_date,region_code,product_category,signal,observed,expected,severity"


def write_csv(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode("utf-8-sig"))


def lead(rank: int, uscc: str = "", shops: str = "", usccs: str = "") -> str:
    return (
        f"{rank},LD-{rank:03d},名称{rank},{uscc},{shops},630102,seeds,0.9,high,理由,false,,{usccs}"
    )


@pytest.fixture()
def world(tmp_path: Path) -> Path:
    world = tmp_path / "world"
    world.mkdir()
    (world / "truth.json").write_text(json.dumps(TRUTH, ensure_ascii=False), encoding="utf-8")
    return world


def run_dir(tmp_path: Path, leads: list[str], alerts: list[str] | None = None) -> Path:
    out = tmp_path / "out" / AS_OF
    write_csv(out / "entity_leads.csv", LEAD_HEADER, leads)
    write_csv(out / "alerts.csv", ALERT_HEADER, alerts or [])
    return out


def test_perfect_list_has_precision_one(world: Path, tmp_path: Path) -> None:
    leads = [
        lead(1, shops="pinduoduo:PD1;taobao:TB1;taobao:TB2"),
        lead(2, uscc="91630222MA0000001X"),
        lead(3, shops="jd:JD1;jd:JD2", usccs="91632801MA0000002Y"),
    ]
    metrics = evaluate(world, run_dir(tmp_path, leads), None)["leads"]
    assert metrics["precision@20"] == 1.0
    assert metrics["precision@50"] == 1.0
    assert metrics["average_precision"] == 1.0
    assert metrics["recall@50"] == 1.0
    assert metrics["decoys@20"] == 0
    assert metrics["false_merges"] == 0
    assert metrics["ring_coverage"] == {"operators": 2, "mean": 1.0, "min": 1.0, "complete": 2}
    assert metrics["ring_coverage@100"] == metrics["ring_coverage"]
    assert metrics["false_merges@100"] == 0


def test_duplicate_leads_of_one_operator_count_once(world: Path, tmp_path: Path) -> None:
    leads = [
        lead(1, shops="taobao:TB1"),
        lead(2, shops="taobao:TB2"),  # OP001 again: a miss
        lead(3, usccs="91630222MA0000001X"),
        lead(4, shops="unknown:X1"),
    ]
    metrics = evaluate(world, run_dir(tmp_path, leads), None)["leads"]
    assert metrics["precision@20"] == pytest.approx(2 / 4)
    assert metrics["average_precision"] == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert metrics["recall@50"] == pytest.approx(2 / 3)
    # OP001: at most one of its three shops in a single lead; OP003 not found at all
    assert metrics["ring_coverage"]["mean"] == pytest.approx((1 / 3 + 0) / 2)
    assert metrics["ring_coverage"]["min"] == 0.0
    # over the top 100: only the rings with a lead there (OP003 has none)
    assert metrics["ring_coverage@100"] == {
        "operators": 1,
        "mean": pytest.approx(1 / 3),
        "min": pytest.approx(1 / 3),
        "complete": 0,
    }


def test_decoys_and_false_merges(world: Path, tmp_path: Path) -> None:
    leads = [
        lead(1, shops="tmall:TM1"),  # a decoy
        lead(2, shops="jd:JD1", usccs="91630100MA0000009Z"),  # OP003 merged with the decoy
        lead(3, shops="taobao:TB1;jd:JD2"),  # OP001 merged with OP003
        lead(4, uscc="91630100MA0000009Z"),  # the decoy again
        lead(5, usccs="91630222MA0000001X;91630104MA0000007K"),  # OP002 with an innocent
        lead(6, shops="unknown:X1", usccs="91630104MA0000007K"),  # innocents only: no merge
    ]
    metrics = evaluate(world, run_dir(tmp_path, leads), None)["leads"]
    assert metrics["decoys@20"] == 3
    assert metrics["false_merges"] == 3
    assert metrics["false_merge_leads"] == ["LD-002", "LD-003", "LD-005"]
    assert metrics["false_merges@100"] == 3
    assert metrics["precision@20"] == pytest.approx(3 / 6)


def test_surge_detection_delay_and_false_alert_weeks(world: Path, tmp_path: Path) -> None:
    alerts = [
        "AL-1,2026-05-05,630222,seeds,complaints,9,1,high",
        "AL-2,2026-05-03,630200,seeds,combined,12,2,medium",  # prefecture, first: delay 2
        "AL-3,2026-06-10,630102,tobacco,complaints,5,1,low",  # false: one alert-week ...
        "AL-4,2026-06-11,630102,tobacco,combined,6,1,low",  # ... the same week
        "AL-5,2026-06-25,630102,tobacco,complaints,5,1,low",  # another week
        "AL-6,2026-04-20,630121,seeds,complaints,5,1,low",  # seasonal (seeds in April)
        "AL-7,2026-05-25,630222,seeds,complaints,5,1,low",  # after SG01 ended: false, seasonal
    ]
    metrics = evaluate(world, run_dir(tmp_path, [lead(1)], alerts), None)["surges"]
    assert metrics["surges"] == 2  # SG03 lies before the window
    assert metrics["detected"] == 1
    sg01 = metrics["per_surge"][0]
    assert (sg01["alert_date"], sg01["delay_days"], sg01["alert_region"]) == (
        "2026-05-03",
        2,
        "630200",
    )
    assert sg01["delay_from_evident"] == -1  # alarmed the day before the 3rd complaint
    assert metrics["within_target"] == metrics["within_target_of_evident"] == 1
    assert metrics["per_surge"][1]["detected"] is False
    assert metrics["per_surge"][1]["evident_from"] == "2026-06-01"  # none given: the start
    assert metrics["mean_delay_days"] == 2.0
    assert metrics["false_alerts"] == 3
    assert metrics["false_alert_weeks"] == 2
    assert metrics["seasonal_false_alerts"] == 2
    assert metrics["seasonal_false_alert_weeks"] == 2


def _warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema staging")
    con.execute("create schema restricted")
    for feed in ("complaints", "inspections", "listings"):
        cols = ", ".join(f"{c.name} {c.duckdb_type}" for c in contracts()[feed].staging_columns)
        con.execute(f"create table staging.{feed} ({cols}, _file VARCHAR, _row_number BIGINT)")
    con.execute(
        "create table restricted.complainant_phones"
        " (complaint_id VARCHAR, complainant_phone VARCHAR)"
    )
    subjects = (
        [("tmall", "TM1", None, None)] * 5  # the decoy flagship store draws most complaints
        + [("taobao", "TB1", None, None)] * 3
        + [(None, None, None, "民和乙种业")] * 2
        + [(None, None, "91632801MA0000002Y", None)]
    )
    for i, (platform, shop, uscc, name) in enumerate(subjects):
        con.execute(
            "insert into staging.complaints (complaint_id, received_at, channel, region_code,"
            " product_category, infringement_type, complainant_type, subject_name, subject_uscc,"
            " platform, shop_id, description) values (?, ?, 'web_12315', '630102', 'seeds',"
            " 'counterfeit_trademark', 'consumer', ?, ?, ?, ?, ?)",
            [
                f"C{i}",
                datetime(2026, 6, 1, 10),
                name,
                uscc,
                platform,
                shop,
                f"投诉内容编号{i:04d}说明",
            ],
        )
    # too old and too new: not counted
    for i, when in enumerate((datetime(2025, 12, 1), datetime(2026, 7, 2))):
        con.execute(
            "insert into staging.complaints (complaint_id, received_at, channel, region_code,"
            " product_category, infringement_type, complainant_type, platform, shop_id,"
            " description) values (?, ?, 'web_12315', '630102', 'seeds', 'other', 'consumer',"
            " 'jd', 'JD2', '旧的或以后的投诉内容')",
            [f"X{i}", when],
        )
    con.close()
    return path


def test_naive_baseline_and_ears_from_the_warehouse(world: Path, tmp_path: Path) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb")
    metrics = evaluate(world, run_dir(tmp_path, [lead(1, shops="taobao:TB1")]), warehouse)
    naive = metrics["naive_baseline"]
    # tmall:TM1 (decoy), taobao:TB1 (OP001), name (OP002), uscc (OP003); jd:JD2 out of range
    assert naive["ranked"] == 4
    assert naive["precision@20"] == pytest.approx(3 / 4)
    assert naive["decoys@20"] == 1
    assert metrics["surges_ears_c2"]["surges"] == 2
    report = format_report(metrics)
    assert "precision@20" in report and "EARS C2" in report and "SG01" in report


def test_new_leads_leave_out_the_operators_already_caught(tmp_path: Path) -> None:
    """OP002 was confirmed before the as-of date: the office knows it, so new leads are scored
    on the list without its leads, against OP001 and OP003 only. OP003's referral closes after
    the as-of date and its earlier case found too little: it is still new."""
    truth = json.loads(json.dumps(TRUTH))
    cases = {
        "OP002": [{"closed_on": "2026-03-02", "outcome": "confirmed"}],
        "OP003": [
            {"closed_on": "2026-02-02", "outcome": "insufficient_evidence"},
            {"closed_on": "2026-07-10", "outcome": "referred_to_police"},
        ],
    }
    for op in truth["operators"]:
        op["outcomes"] = cases.get(op["operator_id"], [])
    world = tmp_path / "world"
    world.mkdir()
    (world / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    leads = [
        lead(1, uscc="91630222MA0000001X"),  # OP002, caught
        lead(2, shops="unknown:X1"),
        lead(3, shops="taobao:TB1"),  # OP001
        lead(4, shops="taobao:TB2"),  # OP001 again: a duplicate
        lead(5, shops="jd:JD1"),  # OP003
    ]
    metrics = evaluate(world, run_dir(tmp_path, leads), None)
    every, new = metrics["leads"], metrics["leads"]["new_leads"]
    assert every["precision@20"] == pytest.approx(3 / 5)
    assert every["duplicates@20"] == 1
    assert new["known_operators"] == 1
    assert new["operators"] == 2
    assert new["ranked"] == 4
    assert new["precision@20"] == pytest.approx(2 / 4)
    assert new["average_precision"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    assert new["duplicates@20"] == 1
    report = format_report(metrics)
    assert "new leads: entity_leads" in report and "duplicates@20" in report


HOTSPOT_HEADER = "rank,region_code,product_category,score,trend,reasons,observed,expected"


def test_hotspot_problem_cells_and_precision(world: Path, tmp_path: Path) -> None:
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    truth["operators"][0]["ship_from"] = ["630103", "440304"]  # out of province: no cell
    (world / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    problems = load_truth(world).problem_cells(date(2026, 6, 30))
    assert problems == {
        ("630102", "mobile_phones"),  # OP001 sells there
        ("630103", "mobile_phones"),  # and ships from there
        ("630222", "seeds"),  # OP002, and SG01 ran there
        ("632801", "auto_parts"),  # OP003
        ("632801", "fuel"),  # SG02 (SG03 ran a year before the hotspots' 90 days)
    }
    rows = [
        "1,630200,seeds,0.9,stable,r,9,1",  # a prefecture row: left out
        "2,630222,seeds,0.8,stable,r,9,1",
        "3,630104,books,0.7,stable,r,9,1",
        "4,632801,fuel,0.6,stable,r,9,1",
    ]
    out = run_dir(tmp_path, [lead(1)])
    write_csv(out / "hotspots.csv", HOTSPOT_HEADER, rows)
    metrics = evaluate(world, out, _warehouse(tmp_path / "w.duckdb"))
    assert metrics["hotspots"]["ranked"] == 3
    assert metrics["hotspots"]["precision@10"] == pytest.approx(2 / 10)
    # complaint volume: the warehouse's 11 complaints in the window are all 630102 × seeds
    base = metrics["hotspots_baseline"]
    assert (base["ranked"], base["precision@10"]) == (1, 0.0)
    assert "complaint volume" in format_report(metrics)


def test_a_surge_over_two_districts_is_matched_in_either(world: Path, tmp_path: Path) -> None:
    truth = json.loads((world / "truth.json").read_text(encoding="utf-8"))
    truth["surges"] = [
        {
            "surge_id": "SG05",
            "region_code": "630102",
            "counties": ["630102", "630105"],
            "product_category": "mobile_phones",
            "signal": "complaints",
            "start": "2026-06-01",
            "end": "2026-06-20",
            "extra_per_day": 0.4,
            "times_normal": 3.0,
        }
    ]
    (world / "truth.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    alerts = ["AL-1,2026-06-05,630105,mobile_phones,complaints,9,1,high"]
    metrics = evaluate(world, run_dir(tmp_path, [lead(1)], alerts), None)["surges"]
    assert (metrics["detected"], metrics["false_alerts"]) == (1, 0)
    assert metrics["per_surge"][0]["delay_days"] == 4
