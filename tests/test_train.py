"""The lead model: labels, features as of the open day (no leakage), determinism, the
registry, the blend in the lead list, and the lead history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from demo_world.config import DEFAULT_AS_OF
from demo_world.evaluate_model import backtest_cases, format_model_report, risk_level_calibration
from flows import stages
from models.registry import find_model, model_entry, model_of_version, model_records
from models.scoring import TERMS, load_baseline_config
from models.train import (
    TrainedModel,
    case_features,
    fit_lead_model,
    load_model_config,
    outcome_set,
    platt_calibration,
    training_cases,
)
from transforms.load import end_of_day, ensure_warehouse
from transforms.model_store import store_model
from transforms.warehouse import connect, has_table

AS_OF = DEFAULT_AS_OF


# --- without a warehouse ------------------------------------------------------------------


def synthetic_cases(n: int = 240, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = {name: rng.exponential(0.5, n) for name in TERMS}
    logit = -3 + 2.0 * x["low_price"] + 1.5 * x["complaints"] - 1.0 * x["red_list"]
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    closed = [AS_OF - dt.timedelta(days=int(d)) for d in rng.integers(3, 360, n)]
    soft = (label == 0) & (rng.random(n) < 0.25)  # insufficient evidence: half a negative
    return pl.DataFrame(
        {
            "outcome_id": [f"AJ{i:04d}" for i in range(n)],
            "closed_on": closed,
            "label": label,
            "weight": np.where(soft, 0.5, 1.0),
            "entity_id": [f"CR-{i}" for i in range(n)],
            **x,
        }
    )


def test_outcomes_are_labelled_as_configured() -> None:
    config = load_model_config()
    assert config.label("confirmed") == (1, 1.0)
    assert config.label("referred_to_police") == (1, 1.0)
    assert config.label("not_confirmed") == (0, 1.0)
    assert config.label("insufficient_evidence") == (0, 0.5)
    assert config.label("transferred") is None


def test_fitting_is_deterministic_and_learns_the_signs() -> None:
    cases = synthetic_cases()
    config = load_model_config()
    first, metrics = fit_lead_model(cases, config, AS_OF)
    again, _ = fit_lead_model(cases, config, AS_OF)
    assert first == again and first.version.startswith("lm-20260630-")
    coef = dict(zip(first.terms, first.coef, strict=True))
    assert coef["low_price"] > 0 and coef["complaints"] > 0 and coef["red_list"] < 0
    assert first.platt_slope > 0
    assert 0.6 < metrics["cv_auc"] <= 1 and 0 <= metrics["cv_brier"] <= 0.25
    shuffled = cases.sample(fraction=1.0, shuffle=True, seed=1).sort("outcome_id")
    assert fit_lead_model(shuffled, config, AS_OF)[0] == first


def test_calibrated_probabilities_match_the_positive_rate() -> None:
    cases = synthetic_cases(600)
    model, _ = fit_lead_model(cases, load_model_config(), AS_OF)
    p = np.array([model.probability(x) for x in cases.select(list(TERMS)).to_dicts()])
    assert ((p >= 0) & (p <= 1)).all()
    w = cases["weight"].to_numpy()
    assert abs(np.average(p, weights=w) - np.average(cases["label"], weights=w)) < 0.05


def test_calibration_never_inverts_the_ranking() -> None:
    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.2).astype(int)
    w = np.ones(300)
    slope, offset = platt_calibration(y + rng.normal(0, 0.5, 300), y, w)
    assert slope > 1
    # Out-of-fold decision values that rank the cases upside down carry no usable signal:
    # the slope is held at 0 and every case gets the base rate.
    slope, offset = platt_calibration(-y + rng.normal(0, 0.5, 300), y, w)
    assert slope == 0 and 1 / (1 + np.exp(-offset)) == pytest.approx(y.mean())


def test_a_model_without_out_of_fold_skill_gets_no_weight() -> None:
    config = load_model_config()
    model, _ = fit_lead_model(synthetic_cases(), config, AS_OF)
    assert model.for_scoring(config).blend_weight > 0
    flat = dataclasses.replace(model, platt_slope=0.0)
    assert not flat.has_skill and flat.for_scoring(config).blend_weight == 0.0
    quiet, loud = dict.fromkeys(TERMS, 0.0), dict.fromkeys(TERMS, 2.0)
    assert flat.probability(quiet) == flat.probability(loud)


def test_with_labels_that_follow_the_baseline_the_model_ranks_as_the_baseline() -> None:
    baseline = load_baseline_config()
    cases = synthetic_cases(150, seed=8)
    logit = [
        baseline.intercept + sum(baseline.weights.get(n, 0.0) * x[n] for n in TERMS)
        for x in cases.select(list(TERMS)).to_dicts()
    ]
    rng = np.random.default_rng(2)
    label = (rng.random(150) < 1 / (1 + np.exp(-np.array(logit)))).astype(int)
    model, metrics = fit_lead_model(
        cases.with_columns(pl.Series("label", label)), load_model_config(), AS_OF
    )
    assert model.has_skill and 0.5 < metrics["baseline_coef"] < 1.6
    fresh = synthetic_cases(300, seed=9).select(list(TERMS)).to_dicts()
    p = np.array([model.probability(x) for x in fresh])
    b = np.array([sum(baseline.weights.get(n, 0.0) * x[n] for n in TERMS) for x in fresh])
    rank_corr = np.corrcoef(np.argsort(np.argsort(p)), np.argsort(np.argsort(b)))[0, 1]
    assert rank_corr > 0.95


def test_backtest_trains_before_the_cut_and_tests_after() -> None:
    cases = synthetic_cases(400)
    cut = AS_OF - dt.timedelta(days=120)
    result = backtest_cases(cases, cut)
    n_test = cases.filter(pl.col("closed_on") >= cut).height
    assert sum(result["test"][k] for k in ("positives", "negatives", "soft_negatives")) == n_test
    assert result["model"]["auc"] > 0.6 and result["baseline"]["auc"] is not None
    assert 0 <= result["model"]["precision@10"] <= 1


# --- the registry, read-only ----------------------------------------------------------------


def test_find_model_on_a_read_only_warehouse_without_models_finds_none(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with connect(warehouse) as con:
        ensure_warehouse(con)  # ingested, never trained: no ops.models
    with duckdb.connect(str(warehouse), read_only=True) as con:
        outcomes = outcome_set(con, AS_OF)
        assert find_model(con, outcomes) is None
        assert find_model(con, outcomes, load_model_config()) is None
        assert model_of_version(con, "lm-20260630-0000") is None
        records = model_records(con)
        assert records.is_empty() and {"version", "outcomes_digest"} <= set(records.columns)
        assert not has_table(con, "ops", "models")  # looking created nothing

    # Saving creates the registry; a read-only connection then finds what was saved.
    model, metrics = fit_lead_model(synthetic_cases(), load_model_config(), AS_OF)
    with connect(warehouse) as con:
        store_model(
            con, model_entry(TrainedModel(model, AS_OF, outcomes, synthetic_cases(), metrics))
        )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = find_model(con, outcomes)
        assert found is not None and found.version == model.version
        assert find_model(con, dataclasses.replace(outcomes, digest="another")) is None
        assert model_of_version(con, model.version) == found
        assert model_records(con)["version"].to_list() == [model.version]


# --- on a generated world -----------------------------------------------------------------


@pytest.fixture(scope="module")
def ingested(small_world: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with the small world ingested and built as of AS_OF (no model yet)."""
    path = tmp_path_factory.mktemp("train") / "ingested.duckdb"
    con = connect(path)
    try:
        stages.ingest(con, small_world / "landing", "test")
        stages.resolve(con, AS_OF)
        stages.build_features(con, AS_OF)
    finally:
        con.close()
    return path


@pytest.fixture(scope="module")
def trained(ingested: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same warehouse with a model trained and the leads of AS_OF scored."""
    path = tmp_path_factory.mktemp("trained") / "trained.duckdb"
    shutil.copy(ingested, path)
    con = connect(path)
    try:
        summary = stages.train_model(con, AS_OF)
        assert summary["trained"], summary
        stages.score_leads(con, AS_OF)
    finally:
        con.close()
    return path


@pytest.fixture
def con_of(tmp_path: Path) -> Iterator[object]:
    """Open a private copy of a warehouse file: con_of(path) -> connection."""
    opened: list[duckdb.DuckDBPyConnection] = []

    def open_copy(path: Path) -> duckdb.DuckDBPyConnection:
        copy = tmp_path / f"copy{len(opened)}.duckdb"
        shutil.copy(path, copy)
        opened.append(connect(copy))
        return opened[-1]

    yield open_copy
    for con in opened:
        con.close()


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, pl.DataFrame]:
    tables = ("core.record_entities", "features.entity_features", "features.complaint_signals")
    return {t: con.sql(f"select * from {t}").pl().sort(pl.all()) for t in tables}


def _build(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    stages.resolve(con, day)
    stages.build_features(con, day)


@pytest.mark.slow
def test_training_is_deterministic_and_leaves_the_warehouse_as_found(
    ingested: Path, con_of: object
) -> None:
    con = con_of(ingested)  # type: ignore[operator]
    before = snapshot(con)
    first = stages.train_model(con, AS_OF)
    assert first["trained"] and first["positives"] >= 5
    after = snapshot(con)
    for table, frame in before.items():
        assert after[table].equals(frame), f"{table} changed by training"
    assert stages.train_model(con, AS_OF)["reason"] == "up to date"
    forced = stages.train_model(con, AS_OF, force=True)
    assert forced["trained"] and forced["version"] == first["version"]
    assert forced["cv_auc"] == first["cv_auc"] and forced["coefficients"] == first["coefficients"]


@pytest.mark.slow
def test_cases_are_seen_as_of_the_week_they_were_opened(trained: Path, con_of: object) -> None:
    con = con_of(trained)  # type: ignore[operator]
    cases = con.sql("select * from ops.training_cases").pl()
    assert cases.height > 20
    assert (cases["features_as_of"] <= cases["opened_on"]).all()
    assert (cases["opened_on"] < cases["closed_on"]).all()
    assert (cases["closed_on"] <= AS_OF).all()
    lag = load_model_config().open_lag_days
    no_lead = cases.filter(pl.col("first_flagged").is_null())
    assert (no_lead["closed_on"] - no_lead["opened_on"] == dt.timedelta(days=lag)).all()
    assert (cases["features_as_of"].dt.weekday() == 1).all(), "the Monday of the ISO week"
    assert "transferred" not in set(cases["outcome"])
    soft = cases.filter(pl.col("outcome") == "insufficient_evidence")
    assert soft.height > 0 and (soft["weight"] == 0.5).all() and (soft["label"] == 0).all()


@pytest.mark.slow
def test_a_case_never_sees_the_inspection_or_penalty_that_closed_it(
    trained: Path, con_of: object
) -> None:
    con = con_of(trained)  # type: ignore[operator]
    seen = con.sql("select * from ops.training_cases").pl()
    case = seen.filter(
        pl.col("entity_id").is_not_null()
        & pl.col("uscc_key").is_not_null()
        & (pl.col("label") == 1)
    ).row(0, named=True)
    cases = training_cases(con, AS_OF, load_model_config())
    uscc = case["uscc_key"].removeprefix("uscc:")

    def add_closing_records(
        day: dt.date, tag: str, delivered: float = 1e12, result: str = "fail"
    ) -> None:
        con.execute(
            "insert into staging.inspections_history by name select ? as inspection_id, "
            "? as inspected_on, '630102' as region_code, '泄漏检查测试公司' as entity_name, "
            "? as entity_uscc, 'seeds' as product_category, 'targeted' as inspection_type, "
            "? as result, 'counterfeit_trademark' as violation_type, "
            "'team' as inspector_team, 5000000.0 as seized_value_cny, 'x' as _file, "
            "? as _delivered, 1 as _row_number",
            [f"JC-LEAK-{tag}", day, uscc, result, delivered],
        )
        if result == "fail":
            con.execute(
                "insert into staging.credit_history by name select ? as record_id, ? as uscc, "
                "'泄漏检查测试公司' as entity_name, 'admin_penalty' as record_type, "
                "? as decided_on, 200000.0 as amount_cny, 'x' as _file, ? as _delivered, "
                "1 as _row_number",
                [f"CR-LEAK-{tag}", uscc, day, delivered],
            )

    def terms_now() -> dict[str, float]:
        seen_now = case_features(con, one, _build).row(0, named=True)
        return {t: seen_now[t] for t in TERMS}

    one = cases.filter(pl.col("outcome_id") == case["outcome_id"])
    as_seen = {t: case[t] for t in TERMS}
    day = case["features_as_of"]
    # The inspection and penalty that closed the case: after the open day, up to closing.
    add_closing_records(case["closed_on"] - dt.timedelta(days=1), "after")
    assert terms_now() == as_seen
    # Records dated on the feature day but delivered after it were not known on it.
    add_closing_records(day, "late", delivered=end_of_day(day) + 1)
    assert terms_now() == as_seen
    # Delivered by the end of that day (China time), they count (the test can fail) ...
    add_closing_records(day, "known", delivered=end_of_day(day) - 1)
    known = terms_now()
    assert known["seized"] > case["seized"] and known["penalties"] > case["penalties"]
    # ... in the version in force then: a correction delivered later changes nothing.
    add_closing_records(day, "known", delivered=end_of_day(day) + 3600, result="pass")
    assert terms_now() == known


@pytest.mark.slow
def test_records_after_the_as_of_date_change_no_model_and_no_score(
    trained: Path, con_of: object
) -> None:
    con = con_of(trained)  # type: ignore[operator]
    leads = con.sql("select * from scores.entity_leads").pl()
    digest = outcome_set(con, AS_OF).digest
    shop = leads.filter(pl.col("shop_keys").is_not_null())["shop_keys"][0].split(";")[0]
    platform, shop_id = shop.split(":")
    later = AS_OF + dt.timedelta(days=2)
    con.execute(
        "insert into staging.outcomes_history by name select 'AJ-FUTURE' as outcome_id, "
        "? as closed_on, 'confirmed' as outcome, ? as platform, ? as shop_id, "
        "'x' as _file, 1e12 as _delivered, 1 as _row_number",
        [later, platform, shop_id],
    )
    con.execute(
        "insert into staging.complaints_history by name select 'TS-FUTURE' as complaint_id, "
        "? as received_at, 'hotline_12315' as channel, '630102' as region_code, "
        "'seeds' as product_category, 'counterfeit_trademark' as infringement_type, "
        "'consumer' as complainant_type, ? as platform, ? as shop_id, '假货' as description, "
        "'x' as _file, 1e12 as _delivered, 1 as _row_number",
        [dt.datetime.combine(later, dt.time(10)), platform, shop_id],
    )
    assert outcome_set(con, AS_OF).digest == digest
    assert stages.train_model(con, AS_OF)["reason"] == "up to date"
    _build(con, AS_OF)
    assert stages.score_leads(con, AS_OF).equals(leads)


@pytest.mark.slow
def test_a_new_outcome_trains_a_new_model(trained: Path, con_of: object) -> None:
    con = con_of(trained)  # type: ignore[operator]
    before = find_model(con, outcome_set(con, AS_OF))
    assert before is not None
    con.execute(
        "insert into staging.outcomes_history by name select 'AJ-NEW' as outcome_id, "
        "? as closed_on, 'not_confirmed' as outcome, 'taobao' as platform, "
        "'TB-NEW' as shop_id, 'x' as _file, ? as _delivered, 1 as _row_number",
        [AS_OF - dt.timedelta(days=1), end_of_day(AS_OF) - 3600],
    )
    summary = stages.train_model(con, AS_OF)
    assert summary["trained"] and summary["version"] != before.version
    assert model_records(con).height == 2


@pytest.mark.slow
def test_an_outcome_delivered_after_the_day_is_not_known_on_it(
    trained: Path, con_of: object
) -> None:
    """Closed before the as-of date but delivered after its end (China time): a model for
    that day cannot have learnt from it (FEEDS.md, Training and backtests)."""
    con = con_of(trained)  # type: ignore[operator]
    known = outcome_set(con, AS_OF)
    cases = training_cases(con, AS_OF, load_model_config())
    con.execute(
        "insert into staging.outcomes_history by name select 'AJ-LATE' as outcome_id, "
        "? as closed_on, 'confirmed' as outcome, 'taobao' as platform, "
        "'TB-LATE' as shop_id, 'x' as _file, ? as _delivered, 1 as _row_number",
        [AS_OF - dt.timedelta(days=5), end_of_day(AS_OF) + 1],
    )
    assert outcome_set(con, AS_OF) == known
    assert training_cases(con, AS_OF, load_model_config()).equals(cases)
    assert stages.train_model(con, AS_OF)["reason"] == "up to date"
    later = AS_OF + dt.timedelta(days=1)
    assert "AJ-LATE" in training_cases(con, later, load_model_config())["outcome_id"].to_list()


@pytest.mark.slow
def test_the_lead_list_blends_the_model_and_every_lead_has_reasons(
    trained: Path, con_of: object
) -> None:
    con = con_of(trained)  # type: ignore[operator]
    leads = con.sql("select * from scores.entity_leads order by rank").pl()
    assert leads.height > 20
    assert leads["reasons"].null_count() == 0 and leads["reasons"].str.len_chars().min() > 0
    assert leads["model_version"].n_unique() == 1 and leads["model_version"][0].startswith("lm-")
    w = leads["model_weight"][0]
    assert 0 < w < 1
    blend = w * leads["model_probability"] + (1 - w) * leads["baseline_score"]
    assert ((blend - leads["score"]).abs() < 1e-5).all()
    assert leads["score"].is_between(0, 1).all()
    order = {"high": 0, "medium": 1, "low": 2}
    levels = [order[v] for v in leads["risk_level"]]
    assert levels == sorted(levels)
    assert set(leads["status"]) <= {"new", "open", "under_investigation", "closed"}


@pytest.mark.slow
def test_history_is_replaced_on_rerun_and_tracks_the_previous_run(
    trained: Path, con_of: object
) -> None:
    con = con_of(trained)  # type: ignore[operator]
    first = con.sql("select * from scores.entity_leads").pl()
    assert first["is_new"].all() and first["rank_change"].null_count() == first.height
    week = AS_OF + dt.timedelta(days=7)
    _build(con, week)
    second = stages.score_leads(con, week)
    again = stages.score_leads(con, week)
    assert again.equals(second), "running a day again gives the same list"
    history = con.sql(
        "select as_of, count(*) as n, count(distinct lead_id) as leads "
        "from scores.lead_history group by as_of order by as_of"
    ).fetchall()
    assert history == [(AS_OF, first.height, first.height), (week, second.height, second.height)]
    kept = second.join(first.select("lead_id", pl.col("rank").alias("before")), on="lead_id")
    assert kept.height > 0.8 * first.height, "lead ids are stable across runs"
    assert not kept["is_new"].any() and (kept["first_flagged"] == AS_OF).all()
    assert (kept["rank_change"] == kept["before"] - kept["rank"]).all()
    assert set(kept["status"]) <= {"open", "under_investigation", "closed"}
    new = second.filter(~pl.col("lead_id").is_in(first["lead_id"].to_list()))
    assert new["is_new"].all() and (new["first_flagged"] == week).all()
    # Replaying the first day never sees the later run.
    _build(con, AS_OF)
    replay = stages.score_leads(con, AS_OF)
    assert replay.equals(first)


@pytest.mark.slow
def test_status_follows_the_actions_that_carry_the_lead_id(trained: Path, con_of: object) -> None:
    con = con_of(trained)  # type: ignore[operator]
    leads = con.sql("select * from scores.entity_leads order by rank").pl()
    quiet = leads.filter(pl.col("status") == "new")["lead_id"].to_list()
    inspected, closed = quiet[0], quiet[1]
    week = AS_OF + dt.timedelta(days=7)
    con.execute(
        "insert into staging.inspections_history by name select 'JC-FOLLOW' as inspection_id, "
        "? as inspected_on, '630102' as region_code, '某' as entity_name, "
        "'seeds' as product_category, 'double_random' as inspection_type, "
        "'pending' as result, 'team' as inspector_team, ? as lead_id, "
        "'x' as _file, 1e12 as _delivered, 1 as _row_number",
        [week - dt.timedelta(days=2), inspected],
    )
    con.execute(
        "insert into staging.outcomes_history by name select 'AJ-LEAD' as outcome_id, "
        "? as closed_on, 'confirmed' as outcome, ? as lead_id, "
        "'x' as _file, 1e12 as _delivered, 1 as _row_number",
        [week, closed],
    )
    _build(con, week)
    status = dict(stages.score_leads(con, week).select("lead_id", "status").iter_rows())
    assert status[inspected] == "under_investigation"
    assert status[closed] == "closed"
    assert "open" in status.values()


@pytest.mark.slow
def test_without_enough_labels_the_score_is_the_baseline(ingested: Path, con_of: object) -> None:
    con = con_of(ingested)  # type: ignore[operator]
    config = dataclasses.replace(load_model_config(), min_positives=10**6)
    summary = stages.train_model(con, AS_OF, config=config)
    assert not summary["trained"] and summary["reason"] == "too few labelled outcomes"
    leads = stages.score_leads(con, AS_OF)
    assert leads["model_version"].null_count() == leads.height
    assert (leads["score"] == leads["baseline_score"]).all()
    assert (leads["model_weight"] == 0).all()


def test_risk_level_calibration_counts_planted_operators_per_level(tmp_path: Path) -> None:
    truth = {
        "operators": [
            {"operator_id": "OP1", "shop_keys": ["taobao:T1"], "usccs": [], "names": []},
            {"operator_id": "OP2", "shop_keys": ["taobao:T2"], "usccs": [], "names": []},
        ],
        "decoys": [],
        "surges": [],
        "seasonal": [],
    }
    (tmp_path / "truth.json").write_text(json.dumps(truth), encoding="utf-8")
    run_dir = tmp_path / "out" / AS_OF.isoformat()
    leads = pl.DataFrame(
        {
            "rank": [1, 2, 3, 4],
            "lead_id": ["A", "B", "C", "D"],
            "shop_keys": ["taobao:T1", "taobao:T2", "taobao:T3", "taobao:T4"],
            "uscc": [None] * 4,
            "usccs": [None] * 4,
            "score": [0.9, 0.4, 0.3, 0.1],
            "risk_level": ["high", "medium", "medium", "low"],
        },
        schema_overrides={"uscc": pl.String, "usccs": pl.String},
    )
    run_dir.mkdir(parents=True)
    leads.write_csv(run_dir / "entity_leads.csv")
    result = risk_level_calibration(tmp_path, run_dir)
    shares = {r["risk_level"]: r["operator_share"] for r in result["levels"]}
    assert shares == {"high": 1.0, "medium": 0.5, "low": 0.0} and result["monotone"]
    report = format_model_report({"calibration": result, "backtest": None})
    assert "high" in report and "0.5" in report


@pytest.mark.slow
def test_the_weekly_retrain_flow_forces_a_training(
    prefect_harness: None, trained: Path, tmp_path: Path
) -> None:
    from flows.retrain import weekly_retrain

    copy = tmp_path / "weekly.duckdb"
    shutil.copy(trained, copy)
    summary = weekly_retrain(warehouse=copy, as_of=AS_OF, artifacts_dir=tmp_path / "artifacts")
    assert summary["trained"]
    artifact = json.loads((tmp_path / "artifacts" / f"{summary['version']}.json").read_text())
    assert artifact["outcomes"] == summary["outcomes"] and artifact["metrics"]["positives"] >= 5
    con = connect(copy)
    try:
        assert model_records(con)["version"].to_list() == [summary["version"]]
    finally:
        con.close()


def grouped_cases(n: int = 300) -> pl.DataFrame:
    """Synthetic cases where an entity has up to 4 cases, closed over the year."""
    cases = synthetic_cases(n)
    return cases.with_columns(
        pl.Series("entity_id", [f"CR-{i // 4 if i % 3 else i}" for i in range(n)])
    )


def test_calibration_folds_keep_an_entitys_cases_together() -> None:
    from models.train import calibration_folds, case_groups

    cases = grouped_cases()
    groups = np.array(case_groups(cases))
    folds = calibration_folds(cases, load_model_config())
    assert len(folds) >= 2
    assert sorted(np.concatenate([test for _, test in folds])) == list(range(cases.height))
    for train_idx, test_idx in folds:
        assert not set(groups[train_idx]) & set(groups[test_idx])


def test_case_groups_fall_back_to_the_cases_keys() -> None:
    from models.train import case_groups

    cases = pl.DataFrame(
        {
            "outcome_id": ["A1", "A2", "A3", "A4"],
            "entity_id": ["CR-1", None, None, None],
            "shop_key": ["shop:tb:1", "shop:tb:1", None, None],
            "uscc_key": [None, None, "uscc:X", None],
            "lead_id": [None, None, None, None],
        }
    )
    assert case_groups(cases) == ["CR-1", "shop:tb:1", "uscc:X", "case:A4"]


def test_backtest_tests_only_entities_unseen_in_training() -> None:
    cases = grouped_cases(400)
    cut = AS_OF - dt.timedelta(days=120)
    result = backtest_cases(cases, cut)
    seen = set(cases.filter(pl.col("closed_on") < cut)["entity_id"])
    unseen_later = cases.filter((pl.col("closed_on") >= cut) & ~pl.col("entity_id").is_in(seen))
    assert result["test_left_out"] > 0
    tested = sum(result["test"][k] for k in ("positives", "negatives", "soft_negatives"))
    assert tested == unseen_later.height


def test_backtest_trains_only_on_the_cases_known_before_the_cut() -> None:
    cases = synthetic_cases(400)
    cut = AS_OF - dt.timedelta(days=120)
    before = cases.filter(pl.col("closed_on") < cut)
    known = set(before["outcome_id"].to_list()[: before.height - 30])
    result = backtest_cases(cases, cut, known=known)
    trained = sum(result["train"][k] for k in ("positives", "negatives", "soft_negatives"))
    assert trained == len(known) and result["train_not_yet_delivered"] == 30


@pytest.mark.slow
def test_staging_as_known_on_a_day_is_the_version_in_force_among_rows_delivered_by_it(
    ingested: Path, con_of: object
) -> None:
    """The filter on the superseded moments gives, for every feed and day, the rows that the
    window over the deliveries before the end of the day gives."""
    from data_contracts.contract import contracts
    from transforms.load import freeze_staging_as_known_on, in_force_sql

    con = con_of(ingested)  # type: ignore[operator]
    con.execute("begin transaction")
    try:
        for day in (dt.date(2025, 3, 3), dt.date(2026, 1, 31), AS_OF):
            freeze_staging_as_known_on(con, day)
            for contract in contracts().values():
                known = con.sql(f"select * from staging.{contract.name}").pl()
                expected = con.sql(
                    in_force_sql(contract, delivered_before=True),
                    params={"delivered_before": end_of_day(day)},
                ).pl()
                assert known.sort(known.columns).equals(expected.sort(expected.columns))
                if contract.name == "complaints" and day < AS_OF:
                    history = con.sql("select count(*) from staging.complaints_history")
                    assert 0 < known.height < history.fetchall()[0][0]
    finally:
        con.execute("rollback")
