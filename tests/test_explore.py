"""The analysts' read functions (transforms/explore.py, models/explore.py, flows/replay.py):
hand-made tables for the logic, the small demo world's warehouse for agreement with the run."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from flows.replay import month_ends_before, replay_lead_history
from models.explore import (
    horizon_complete,
    lead_outcomes,
    lead_terms,
    precision_at_k,
    scan_trace,
    stored_lead_history,
    surge_trace,
)
from models.surges import SERIES_SCHEMA, daily_series, detect_alerts, load_config
from tests.report_world import reported_run
from tests.test_steward import build_landing
from transforms.explore import (
    current_alerts,
    current_leads,
    deliveries,
    last_run_as_of,
    lead_records,
    quarantine_by_delivery,
    read_only,
    sender,
)
from transforms.ingest import ingest_landing
from transforms.steward import quarantine_summary, supersede_corrected


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("complaints/2025-01/12315_2025-01.csv", "12315"),
        ("complaints/2025-03/12315_2025-03_重发.csv", "12315_重发"),
        ("listings/2026-06-01/taobao.parquet", "taobao"),
        ("listings/2026-06-01/alibaba1688.csv", "alibaba1688"),
        ("listings/2026-06/淘宝 周报.csv", "淘宝 周报"),
        ("credit/2025Q1/信用信息_2025Q1.xlsx", "信用信息"),
        ("complaints/weekly/2026-05-25_2026-05-31.csv", "weekly"),
    ],
)
def test_the_sender_is_the_file_name_without_dates(file: str, expected: str) -> None:
    assert sender(file) == expected


def test_quarantine_by_delivery_counts_reasons_and_open_rows(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    build_landing(tmp_path / "landing")
    ingest_landing(con, tmp_path / "landing", "r1")
    supersede_corrected(con)  # b.csv corrects C2 of a.csv
    counts = quarantine_by_delivery(con)

    # the open rows agree with the steward's own count, reason by reason
    steward = quarantine_summary(con).select("feed", "file", "reason", "rows")
    mine = counts.filter(pl.col("open_rows") > 0).select(
        "feed", "file", "reason", pl.col("open_rows").alias("rows")
    )
    assert mine.sort(pl.all()).equals(steward.sort(pl.all()))
    # the corrected row still counts as quarantined, but is no longer open
    corrected = counts.filter(
        (pl.col("file") == "complaints/2026-05/a.csv")
        & (pl.col("reason") == "enum:product_category")
    ).row(0, named=True)
    assert (corrected["rows"], corrected["open_rows"]) == (1, 0)
    assert corrected["sender"] == "a"
    assert corrected["delivered_on"] == dt.date(1970, 1, 1)  # mtime 1000 s, China time
    assert corrected["reason_text"].startswith("product_category:")
    assert set(counts["sender"]) >= {"a", "淘宝 周报"}

    files = deliveries(con)
    assert files.height == 5
    assert (
        files["rows_read"].sum() == files["rows_accepted"].sum() + files["rows_quarantined"].sum()
    )
    by_file = dict(zip(files["file"], files["rows_quarantined"], strict=True))
    for file, part in counts.group_by("file"):
        # a row counts under each of its reasons: never fewer than the rows quarantined
        assert part["rows"].sum() >= by_file[file[0]] >= part["rows"].max()  # type: ignore[operator]


def _outcome_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema staging; create schema core")
    con.execute(
        "create table staging.outcomes (outcome_id VARCHAR, closed_on DATE, outcome VARCHAR,"
        " lead_id VARCHAR)"
    )
    con.execute(
        "insert into staging.outcomes values"
        " ('O1', '2026-02-10', 'confirmed', null),"  # entity A, through its records
        " ('O2', '2026-03-15', 'not_confirmed', 'B'),"  # carries B's lead id
        " ('O3', '2026-06-30', 'confirmed', null),"  # C, too late for either run
        " ('O4', '2026-03-01', 'transferred', null)"  # C, excluded: not a finding
    )
    con.execute(
        "create table core.record_entities (feed VARCHAR, record_id VARCHAR, anchor_key VARCHAR,"
        " entity_id VARCHAR)"
    )
    con.execute(
        "insert into core.record_entities values ('outcomes', 'O1', 'k', 'A'),"
        " ('outcomes', 'O3', 'k', 'C'), ('outcomes', 'O4', 'k', 'C'),"
        " ('complaints', 'O2', 'k', 'A')"  # another feed's record with the same id: ignored
    )


def test_precision_at_k_counts_outcomes_in_the_horizon_after_each_run(
    con: duckdb.DuckDBPyConnection,
) -> None:
    _outcome_tables(con)
    runs = [dt.date(2026, 1, 31), dt.date(2026, 2, 28)]
    history = pl.DataFrame(
        {
            "as_of": [d for d in runs for _ in range(3)],
            "lead_id": ["A", "B", "C"] * 2,
            "rank": [1, 2, 3] * 2,
        }
    )
    outcomes = lead_outcomes(con, history, horizon_days=90)
    found = outcomes.filter(pl.col("outcome_id").is_not_null())
    assert sorted(found.select("as_of", "lead_id", "outcome_id", "label").rows()) == [
        (runs[0], "A", "O1", 1),
        (runs[0], "B", "O2", 0),
        (runs[0], "C", "O4", None),
        (runs[1], "B", "O2", 0),
        (runs[1], "C", "O4", None),
    ]
    table = precision_at_k(outcomes, [1, 2, 5])
    rows = {(r["as_of"], r["k"]): r for r in table.iter_rows(named=True)}
    assert rows[(runs[0], 1)]["precision"] == 1.0
    assert rows[(runs[0], 2)]["precision"] == 0.5
    assert rows[(runs[0], 2)]["decided"] == 2
    assert rows[(runs[0], 2)]["precision_decided"] == 0.5
    assert rows[(runs[0], 5)]["precision"] == pytest.approx(1 / 3)  # k cut to the 3 leads
    assert rows[(runs[0], 5)]["base_rate"] == pytest.approx(1 / 3)
    assert rows[(runs[1], 1)]["precision"] == 0.0
    assert rows[(runs[1], 1)]["precision_decided"] is None
    assert rows[(runs[1], 2)]["decided"] == 1
    complete = horizon_complete(table, 90, known_until=dt.date(2026, 5, 15))
    assert dict(complete.select("as_of", "complete").unique().rows()) == {
        runs[0]: True,
        runs[1]: False,
    }


def test_month_ends_before() -> None:
    assert month_ends_before(dt.date(2026, 3, 15), 3) == [
        dt.date(2025, 12, 31),
        dt.date(2026, 1, 31),
        dt.date(2026, 2, 28),
    ]


def _synthetic_series(as_of: dt.date, days: int) -> pl.DataFrame:
    """Two years of Poisson complaints in one county and category, a surge in the last month."""
    rng = np.random.default_rng(3)
    day_list = [as_of - dt.timedelta(days=n) for n in range(days)][::-1]
    values = rng.poisson(0.6, size=days).astype(float)
    values[-25:-15] += np.array([1, 2, 3, 4, 5, 5, 4, 3, 2, 1])
    return pl.DataFrame(
        {
            "region_code": ["630102"] * days,
            "product_category": ["seeds"] * days,
            "signal": ["complaints"] * days,
            "day": day_list,
            "value": values,
        },
        schema=SERIES_SCHEMA,
    ).filter(pl.col("value") > 0)


def test_surge_trace_shows_what_the_detector_tested() -> None:
    config = load_config()
    as_of = dt.date(2026, 6, 30)
    series = _synthetic_series(as_of, config.history_days)
    alerts = detect_alerts(series, as_of, config)
    assert alerts.height >= 1
    trace = surge_trace(series, as_of, "630102", "seeds", "complaints", config)
    assert trace.height == config.history_days and trace["day"].max() == as_of
    tested = trace.filter(pl.col("expected").is_not_null())
    assert tested.height == config.lookback_days + config.episode_memory_days + 1
    for alert in alerts.iter_rows(named=True):
        day = trace.filter(pl.col("day") == alert["alert_date"]).row(0, named=True)
        assert day["alarm"] is True
        assert round(day["observed"], 3) == alert["observed"]
        assert round(day["expected"], 3) == alert["expected"]
    # the 7-day sum is the sum of the daily values
    last = trace.tail(7)
    assert last["observed"][-1] == pytest.approx(last["value"].sum())


def test_read_only_refuses_a_missing_warehouse(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="make demo"), read_only(tmp_path / "none.duckdb"):
        pass
    assert not (tmp_path / "none.duckdb").exists()


# --- on the small demo world's warehouse ---------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(
    prefect_harness: None, small_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """The warehouse of the small world's run (shared with the report tests)."""
    return reported_run(small_world, tmp_path_factory).warehouse


@pytest.mark.slow
def test_lead_terms_give_the_runs_own_scores(warehouse: Path) -> None:
    with read_only(warehouse) as con:
        as_of = last_run_as_of(con)
        leads = current_leads(con).head(20)
        for lead in leads.iter_rows(named=True):
            score = lead_terms(con, lead["lead_id"], as_of)
            assert score.score == pytest.approx(lead["score"], abs=1e-6)
            assert score.baseline_score == pytest.approx(lead["baseline_score"], abs=1e-6)
            assert score.model_version == lead["model_version"]
            # the strongest term is the first reason the team reads
            assert score.terms["reason"][0] == lead["reasons"].split("；")[0]


@pytest.mark.slow
def test_lead_records_hold_the_evidence_of_the_lead(warehouse: Path) -> None:
    with read_only(warehouse) as con:
        leads = current_leads(con)
        checked = 0
        for lead in leads.head(15).iter_rows(named=True):
            records = lead_records(con, lead["lead_id"])
            assert records.lead["lead_id"] == lead["lead_id"]
            for column, frame, id_column in (
                ("complaint_ids", records.complaints, "complaint_id"),
                ("inspection_ids", records.inspections, "inspection_id"),
            ):
                evidence = set((lead[column] or "").split(";")) - {""}
                assert evidence <= set(frame[id_column]), (lead["lead_id"], column)
            listing_ids = set((lead["listing_ids"] or "").split(";")) - {""}
            seen = {f"{p}:{i}" for p, i in records.listings.select("platform", "listing_id").rows()}
            assert listing_ids <= seen
            shops = {k for k in (lead["shop_keys"] or "").split(";") if k}
            assert shops <= {k.removeprefix("shop:") for k in records.keys["key"]}
            assert set(records.listings["shop_key"]) <= set(records.shop_snapshots["shop_key"])
            checked += bool(records.complaints.height and records.listings.height)
            for frame in (records.complaints, records.inspections, records.listings):
                assert not {c for c in frame.columns if "phone" in c or "description" in c}
        assert checked  # some top leads have both complaints and listings
        with pytest.raises(LookupError):
            lead_records(con, "CR-NOT-A-LEAD")


@pytest.mark.slow
def test_surge_trace_agrees_with_the_runs_alerts(warehouse: Path) -> None:
    config = load_config()
    with read_only(warehouse) as con:
        as_of = last_run_as_of(con)
        alerts = current_alerts(con)
        series = daily_series(con, as_of, config.history_days, config)
    assert alerts.height
    assert config.method == "scan"  # the run's alerts are the space-time scan's
    for alert in alerts.iter_rows(named=True):
        trace = scan_trace(series, as_of, alert["region_code"], alert["product_category"], config)
        day = trace.filter(pl.col("day") == alert["alert_date"]).row(0, named=True)
        assert day["alarm"] is True
        assert (round(day["observed"], 3), round(day["expected"], 3)) == (
            alert["observed"],
            alert["expected"],
        )
    # the per-series trace still reproduces the negbin detector's alerts
    negbin = detect_alerts(series, as_of, config, method="negbin")
    for alert in negbin.head(5).iter_rows(named=True):
        trace = surge_trace(
            series, as_of, alert["region_code"], alert["product_category"], alert["signal"], config
        )
        day = trace.filter(pl.col("day") == alert["alert_date"]).row(0, named=True)
        assert day["alarm"] is True
        assert (round(day["observed"], 3), round(day["expected"], 3)) == (
            alert["observed"],
            alert["expected"],
        )


@pytest.mark.slow
def test_replaying_the_last_run_gives_its_list_and_changes_nothing(
    warehouse: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        stored = stored_lead_history(con)
        as_of = last_run_as_of(con)
        entities_before = con.sql("select count(*) from core.record_entities").fetchall()
        replayed = replay_lead_history(con, [dt.date(2026, 3, 31), as_of])
        assert stored_lead_history(con).equals(stored)  # rolled back
        assert con.sql("select count(*) from core.record_entities").fetchall() == entities_before
    finally:
        con.close()
    # The same leads with the same scores; ranks may swap only between leads whose scores tie
    # to 1e-6 (DuckDB's parallel sums of the features can differ in their last bits).
    both = stored.join(replayed.filter(pl.col("as_of") == as_of), on="lead_id", how="full")
    assert both["rank"].null_count() == both["rank_right"].null_count() == 0
    assert (both["score"] - both["score_right"]).abs().max() <= 1e-6  # type: ignore[operator]
    assert both.filter(pl.col("risk_level") != pl.col("risk_level_right")).is_empty()
    swapped = both.filter(pl.col("rank") != pl.col("rank_right"))
    assert swapped.height <= 0.02 * both.height
    earlier = replayed.filter(pl.col("as_of") == dt.date(2026, 3, 31))
    assert earlier.height > 0 and earlier["rank"].to_list() == list(range(1, earlier.height + 1))
    assert earlier["score"].is_sorted(descending=True)


@pytest.mark.slow
def test_a_replay_sees_only_what_was_delivered_by_its_day(warehouse: Path, tmp_path: Path) -> None:
    """Complaints dated before a replayed day but delivered after it were not known on it;
    delivered by its end (China time), they change the list (the test can fail)."""
    from transforms.load import end_of_day

    copy = tmp_path / "copy.duckdb"
    shutil.copy(warehouse, copy)
    con = duckdb.connect(str(copy))
    day = dt.date(2026, 3, 31)
    try:
        before = replay_lead_history(con, [day])
        top = before.sort("rank").row(0, named=True)["lead_id"]
        shop = con.execute(
            "select key from core.entity_keys where entity_id = ? and key like 'shop:%' limit 1",
            [top],
        ).fetchone()
        assert shop is not None
        _, platform, shop_id = shop[0].split(":", 2)

        def complain(tag: str, delivered: float) -> None:
            for i in range(5):
                con.execute(
                    "insert into staging.complaints_history by name select ? as complaint_id, "
                    "? as received_at, 'hotline_12315' as channel, '630102' as region_code, "
                    "'seeds' as product_category, 'counterfeit_trademark' as infringement_type, "
                    "'consumer' as complainant_type, ? as platform, ? as shop_id, "
                    "? as description, 'x' as _file, ? as _delivered, 1 as _row_number",
                    [f"TS-{tag}-{i}", dt.datetime(2026, 3, 20, 10), platform, shop_id,
                     f"假货{tag}{i}", delivered],
                )  # fmt: skip

        complain("LATE", end_of_day(day) + 60)
        assert replay_lead_history(con, [day]).equals(before)
        complain("KNOWN", end_of_day(day) - 60)
        assert not replay_lead_history(con, [day]).equals(before)
    finally:
        con.close()


def test_the_linkage_of_a_lead_shows_its_keys_records_and_name_match_probabilities() -> None:
    import datetime as dt

    from reports.dossier import render_dossier
    from transforms.explore import LeadRecords, _matched_names, _query

    con = duckdb.connect()
    con.execute("create schema core")
    con.execute(
        "create table core.entity_keys as select * from (values "
        "('uscc:91630100X', 'CR-1'), ('name:630100:绿丰种业', 'CR-1'), "
        "('name:630100:绿丰种业经营部', 'CR-1'), ('name:630100:别家', 'CR-2')) t(key, entity_id)"
    )
    con.execute(
        "create table core.record_keys as select * from (values "
        "('entities', '91630100X', 'uscc:91630100X'), "
        "('entities', '91630100X', 'name:630100:绿丰种业'), "
        "('complaints', 'C1', 'name:630100:绿丰种业经营部'), "
        "('complaints', 'C2', 'name:630100:绿丰种业经营部')) t(feed, record_id, key)"
    )
    con.execute(
        "create table core.name_matches as select * from (values "
        "('name:630100:绿丰种业', 'name:630100:绿丰种业经营部', 0.973::DOUBLE), "
        "('name:630100:绿丰种业', 'name:630100:别家', 0.95::DOUBLE)) t(key_a, key_b, match_probability)"
    )
    params = {"lead_ids": ["CR-1"]}
    keys = _query(con, "lead_keys.sql", params).drop("lead_id")
    assert keys.select("key", "records", "feeds").rows() == [
        ("name:630100:绿丰种业", 1, "entities"),
        ("name:630100:绿丰种业经营部", 2, "complaints"),
        ("uscc:91630100X", 1, "entities"),
    ]
    matches = _matched_names(con, params).drop("lead_id")
    # only the pair inside the lead: the match to another entity's name is not its evidence
    assert matches.rows() == [("name:630100:绿丰种业", "name:630100:绿丰种业经营部", 0.973)]
    empty = pl.DataFrame()
    lead = {
        "lead_id": "CR-1",
        "entity_name": "绿丰种业经营部",
        "uscc": "91630100X",
        "rank": 1,
        "score": 0.9,
        "risk_level": "high",
        "region_code": "630102",
        "product_categories": "seeds",
        "shop_keys": "",
        "reasons": "",
    }
    records = LeadRecords(
        lead=lead,
        complaints=pl.DataFrame(schema={"received_on": pl.Date}),
        inspections=pl.DataFrame(schema={"inspected_on": pl.Date}),
        listings=pl.DataFrame(
            schema={"price_cny": pl.Float64, "price_ratio": pl.Float64, "has_slang": pl.Boolean}
        ),
        shop_snapshots=empty,
        keys=keys,
        name_matches=matches,
    )
    page = render_dossier(records, empty, [], [], "630100", dt.date(2026, 6, 30))
    assert "0.973" in page and "绿丰种业经营部" in page and "别家" not in page
    assert '<td class="num">2</td><td>complaints</td>' in page


def test_the_weekly_lead_lists_are_mondays_whose_horizon_is_over() -> None:
    import datetime as dt

    from tools.lead_precision import weekly_days

    days = weekly_days(dt.date(2026, 6, 30), weeks=12, horizon_days=90)
    assert (days[0], days[-1], len(days)) == (dt.date(2026, 1, 12), dt.date(2026, 3, 30), 12)
    assert all(d.weekday() == 0 for d in days)
    assert days[-1] + dt.timedelta(days=90) <= dt.date(2026, 6, 30)
    assert days[-1] + dt.timedelta(days=97) > dt.date(2026, 6, 30)  # the latest such Monday
