"""End to end: `radar run`'s flow on a small demo world, checked against the contract."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from data_contracts import expectations
from demo_world.config import DEFAULT_AS_OF
from flows import stages
from flows.nightly import RunResult, nightly
from models import scan
from tests.conftest import COMPLAINT_HEADER, ingest_reference_paths, write
from transforms import resolve, shop_linkage
from transforms.features import ResolveAndBuildDays

pytestmark = pytest.mark.slow

SPEC_COLUMNS = {
    "entity_leads": [
        "rank",
        "lead_id",
        "entity_name",
        "uscc",
        "shop_keys",
        "region_code",
        "product_categories",
        "score",
        "risk_level",
        "reasons",
        "referral_review",
        "handoff_region_code",
    ],
    "hotspots": ["rank", "region_code", "product_category", "score", "trend", "reasons"],
    "alerts": [
        "alert_id",
        "alert_date",
        "region_code",
        "product_category",
        "signal",
        "observed",
        "expected",
        "severity",
    ],
    "data_quality": [
        "feed",
        "file",
        "status",
        "rows_read",
        "rows_accepted",
        "rows_quarantined",
        "issues",
    ],
}


def run(landing: Path, tmp: Path, name: str, as_of: dt.date = DEFAULT_AS_OF) -> RunResult:
    return nightly(landing=landing, warehouse=tmp / f"{name}.duckdb", as_of=as_of, out=tmp / name)


def landing_state(landing: Path) -> dict[str, tuple[str, int]]:
    """Every file and folder under the landing directory: its SHA-256 (files) and mtime."""
    return {
        p.relative_to(landing).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "folder",
            p.stat().st_mtime_ns,
        )
        for p in sorted(landing.rglob("*"))
    }


@pytest.fixture(scope="module")
def landing_before(small_world: Path) -> dict[str, tuple[str, int]]:
    """The landing directory as delivered, before the module's runs."""
    return landing_state(small_world / "landing")


@pytest.fixture(scope="module")
def first_run(
    prefect_harness: None,
    small_world: Path,
    tmp_path_factory: pytest.TempPathFactory,
    landing_before: dict[str, tuple[str, int]],
) -> RunResult:
    return run(small_world / "landing", tmp_path_factory.mktemp("run"), "first")


@contextlib.contextmanager
def reference_paths() -> Iterator[None]:
    """The pipeline with every speed-up of issue 22 replaced by the slow path it must equal:
    training matches the names of each feature day in a Splink pass of its own, reads the
    shop linker's settings and refreshes the key names each day, and builds every feature
    model, profiles too, as the nightly run does; Great Expectations filters the rows by a
    row condition for every metric it computes; the shop linker scores the businesses on a day
    without shops; the ingest reads, validates and writes each file by its slow paths
    (`tests.conftest.INGEST_SPEED_UPS`); the surge scan tests every day of its window, none
    taken from the night before; entity resolution takes every soft link through the
    union-find over every key."""

    def every_day_on_its_own(**_: object) -> ResolveAndBuildDays:
        return ResolveAndBuildDays(one_pass=False)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stages, "ResolveAndBuildDays", every_day_on_its_own)
        patch.setattr(expectations, "FILTER_ONCE", False)
        patch.setattr(shop_linkage, "NO_SHOP_NO_PAIR", False)
        patch.setattr(scan, "REUSE_STORED_DAYS", False)
        patch.setattr(resolve, "SETS_AT_ONCE", False)
        ingest_reference_paths(patch)
        yield


@pytest.fixture(scope="module")
def reference_run(
    prefect_harness: None, small_world: Path, tmp_path_factory: pytest.TempPathFactory
) -> RunResult:
    """The first run again, on a warehouse of its own, by the reference paths."""
    with reference_paths():
        return run(small_world / "landing", tmp_path_factory.mktemp("reference"), "reference")


def read(result: RunResult, name: str) -> pl.DataFrame:
    return pl.read_csv(result.out_dir / f"{name}.csv", infer_schema=False)


def quoted_line_breaks(raw: bytes) -> int:
    """Bare LFs inside quoted fields (an even number of quotes before them closes a field)."""
    count, inside = 0, False
    for i, byte in enumerate(raw):
        if byte == ord('"'):
            inside = not inside
        elif byte == ord("\n") and inside and raw[i - 1 : i] != b"\r":
            count += 1
    return count


def test_exports_follow_the_contract(first_run: RunResult) -> None:
    for name, columns in SPEC_COLUMNS.items():
        csv_path = first_run.out_dir / f"{name}.csv"
        raw = csv_path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), f"{name}.csv has a BOM"
        # RFC 4180: every record ends in CRLF (a bare LF only inside a quoted field)
        assert raw.endswith(b"\r\n") and raw.count(b"\r\n") >= 1, f"{name}.csv ends in CRLF"
        assert raw.count(b"\n") == raw.count(b"\r\n") + quoted_line_breaks(raw), name
        frame = read(first_run, name)
        assert frame.columns[: len(columns)] == columns
        parquet = pq.read_schema(first_run.out_dir / f"{name}.parquet")
        assert parquet.names == frame.columns
    alerts_schema = pq.read_schema(first_run.out_dir / "alerts.parquet")
    assert str(alerts_schema.field("alert_date").type) == "date32[day]"
    leads_schema = pq.read_schema(first_run.out_dir / "entity_leads.parquet")
    assert str(leads_schema.field("referral_review").type) == "bool"
    assert str(leads_schema.field("score").type) == "double"


def test_leads_are_ranked_without_gaps_with_reasons(first_run: RunResult) -> None:
    leads = read(first_run, "entity_leads").with_columns(
        pl.col("rank").cast(pl.Int64), pl.col("score").cast(pl.Float64)
    )
    assert leads.height > 20
    assert leads["rank"].to_list() == list(range(1, leads.height + 1))
    scores = leads["score"].to_list()
    assert all(a >= b for a, b in zip(scores, scores[1:], strict=False))
    assert all(0 <= s <= 1 for s in scores)
    assert leads["lead_id"].n_unique() == leads.height
    assert leads["reasons"].null_count() == 0
    assert set(leads["risk_level"].unique()) <= {"high", "medium", "low"}
    assert set(leads["referral_review"].unique()) <= {"true", "false"}
    hotspots = read(first_run, "hotspots")
    assert set(hotspots["trend"].unique()) <= {"rising", "stable", "falling"}


def test_data_quality_covers_every_file_and_counts_add_up(
    first_run: RunResult, small_world: Path
) -> None:
    dq = read(first_run, "data_quality").with_columns(
        pl.col("rows_read", "rows_accepted", "rows_quarantined").cast(pl.Int64)
    )
    truth = json.loads((small_world / "truth.json").read_text(encoding="utf-8"))
    expected = {f["file"]: f["expected_status"] for f in truth["bad_files"]}
    statuses = dict(zip(dq["file"], dq["status"], strict=True))
    for file, status in expected.items():
        if status == "ignored":
            assert file not in statuses
        else:
            assert statuses[file] == status, file
    loaded = dq.filter(pl.col("status") == "loaded")
    assert (loaded["rows_read"] == loaded["rows_accepted"] + loaded["rows_quarantined"]).all()
    others = dq.filter(pl.col("status") != "loaded")
    assert (others["rows_accepted"] == 0).all() and (others["rows_quarantined"] == 0).all()
    landing = small_world / "landing"
    seen = {
        p.relative_to(landing).as_posix()
        for p in landing.rglob("*")
        if p.is_file()
        and not p.name.startswith(("~$", "."))
        and p.parent != landing
        and p.relative_to(landing).parts[0] in SPEC_FEEDS
    }
    assert set(dq["file"]) == seen


SPEC_FEEDS = {"complaints", "listings", "inspections", "entities", "credit", "outcomes"}


def test_planted_bad_rows_are_quarantined_with_their_reason(
    first_run: RunResult, small_world: Path
) -> None:
    import duckdb

    truth = json.loads((small_world / "truth.json").read_text(encoding="utf-8"))
    con = duckdb.connect(str(first_run.out_dir.parent.parent / "first.duckdb"), read_only=True)
    rows = con.execute("select file, _row_number, reasons from quarantine.rows").fetchall()
    con.close()
    found = {(f, n): r.split(";") for f, n, r in rows}
    for bad in truth["bad_rows"]:
        key = (bad["file"], bad["row_number"])
        if key[0] in {f["file"] for f in truth["bad_files"] if f["expected_status"] != "loaded"}:
            continue
        assert key in found, bad
        assert bad["reason"] in found[key], (bad, found[key])


def test_no_phone_number_leaves_the_warehouse(first_run: RunResult, small_world: Path) -> None:
    truth = json.loads((small_world / "truth.json").read_text(encoding="utf-8"))
    phones = set(truth["phones"])
    assert phones
    # the run's folder and the Data Docs site beside it (OUT/data_docs)
    for path in first_run.out_dir.parent.rglob("*"):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="ignore")
            if path.suffix == ".parquet":
                text = pq.read_table(path).to_pandas().to_csv()
            leaked = [p for p in phones if p in text]
            assert not leaked, f"{path.name} contains a complainant phone"


def test_second_run_gives_byte_identical_csv(first_run: RunResult, small_world: Path) -> None:
    again = nightly(
        landing=small_world / "landing",
        warehouse=first_run.out_dir.parent.parent / "first.duckdb",
        as_of=first_run.as_of,
        out=first_run.out_dir.parent.parent / "again",
    )
    assert again.ingest.new_files == 0
    for name in SPEC_COLUMNS:
        assert (again.out_dir / f"{name}.csv").read_bytes() == (
            first_run.out_dir / f"{name}.csv"
        ).read_bytes()


def test_a_run_leaves_the_landing_directory_unchanged(
    first_run: RunResult, small_world: Path, landing_before: dict[str, tuple[str, int]]
) -> None:
    # FEEDS.md: the pipeline never moves, renames or changes anything in the landing directory
    after = landing_state(small_world / "landing")
    assert sorted(after) == sorted(landing_before)  # no file added, moved or removed
    changed = [rel for rel, state in after.items() if state != landing_before[rel]]
    assert not changed, f"changed by the run (bytes or mtime): {changed[:5]}"
    assert first_run.ingest.new_files > 0


def test_records_after_the_as_of_date_change_nothing(
    first_run: RunResult, small_world: Path, tmp_path: Path
) -> None:
    landing = tmp_path / "landing"
    shutil.copytree(small_world / "landing", landing, copy_function=shutil.copy2)
    later = first_run.as_of + dt.timedelta(days=3)
    burst = [
        f"FUTURE{i},{later} 10:00:00,hotline_12315,630102,seeds,counterfeit_trademark,consumer,"
        f"未来种业,,taobao,FUTURE_SHOP,,假种子,100,1390000{i:04d}"
        for i in range(30)
    ]
    write(landing / "complaints" / "future.csv", COMPLAINT_HEADER + "\n" + "\n".join(burst) + "\n")
    replay = run(landing, tmp_path, "replay", as_of=first_run.as_of)
    for name in ("entity_leads", "hotspots", "alerts"):
        assert (replay.out_dir / f"{name}.csv").read_bytes() == (
            first_run.out_dir / f"{name}.csv"
        ).read_bytes(), name


def test_a_second_run_on_a_busy_warehouse_stops_with_a_clear_message(
    prefect_harness: None, small_world: Path, tmp_path: Path
) -> None:
    from transforms.warehouse import WarehouseBusy, warehouse_lock

    warehouse = tmp_path / "busy.duckdb"
    with warehouse_lock(warehouse), pytest.raises(WarehouseBusy, match="another radar run"):
        nightly(
            landing=small_world / "landing", warehouse=warehouse, as_of=DEFAULT_AS_OF, out=tmp_path
        )
    assert not (tmp_path / DEFAULT_AS_OF.isoformat()).exists()


def test_run_history_records_the_run(first_run: RunResult) -> None:
    import duckdb

    con = duckdb.connect(str(first_run.out_dir.parent.parent / "first.duckdb"), read_only=True)
    runs = con.execute("select status, as_of, counts from ops.runs order by started_at").fetchall()
    con.close()
    assert runs[0][0] == "succeeded" and runs[0][1] == DEFAULT_AS_OF
    assert json.loads(runs[0][2])["leads"] == first_run.leads.height


def test_small_platform_snapshot_is_a_warning_on_its_file(
    first_run: RunResult, small_world: Path
) -> None:
    truth = json.loads((small_world / "truth.json").read_text(encoding="utf-8"))
    partial = [f["file"] for f in truth["bad_files"] if f["why"].startswith("partial snapshot")]
    assert partial
    dq = read(first_run, "data_quality")
    for file in partial:
        row = dq.filter(pl.col("file") == file).row(0, named=True)
        assert row["status"] == "loaded" and "small snapshot" in row["issues"]
    flagged = dq.filter(pl.col("issues").str.contains("small snapshot"))["file"].to_list()
    assert sorted(flagged) == sorted(partial)


def test_leads_list_every_linked_code(first_run: RunResult) -> None:
    leads = read(first_run, "entity_leads").filter(pl.col("usccs").is_not_null())
    assert leads.height > 0
    for codes, primary in zip(leads["usccs"], leads["uscc"], strict=True):
        parts = codes.split(";")
        assert parts == sorted(parts) and all(len(c) == 18 for c in parts)
        assert primary in parts


# --- quality guard: lead and surge quality on the small world ------------------------------
# Floors set from the honest figures of this world (seed 11 at scale 0.25, a population of its
# own that tuned nothing; README, Measured) with a margin, so that a change that breaks lead
# quality fails here. Measured: 6 of the 15 operators caught by the as-of date; the other 9 are
# new, and 8 of them are in the top 20 of the list without the caught ones' leads (precision@20
# 0.40 of at most 0.45; naive 0.15); one duplicate lead in the top 20; the one surge detected.
# Since issue 19 the world also holds 3 keyless rings (18 operators, 11 new): new leads'
# precision@20 0.45, and 3 duplicate leads in the top 20 (two keyless rings with a shop that the
# shop links do not reach: one ships from another county, one scores 0.85 in a world of 200
# shops, where a stem shared by four counts for less; one mixed operator's business and shop).
# With business links (issue 19's remainder) 2: the mixed operator's business and its shop (兴安)
# are joined; the two keyless rings are left (the ceiling was 3).
NEW_LEADS_PRECISION_AT_20_FLOOR = 0.30  # 6 of the 9 new operators
DUPLICATES_AT_20_CEILING = 2
SURGES_DETECTED_FLOOR = 1


def test_quality_guard_new_leads_duplicates_and_surges(
    first_run: RunResult, small_world: Path
) -> None:
    from demo_world.evaluate import evaluate

    warehouse = first_run.out_dir.parent.parent / "first.duckdb"
    metrics = evaluate(small_world, first_run.out_dir, warehouse)
    new = metrics["leads"]["new_leads"]
    assert new["known_operators"] > 0, "the world has caught operators to leave out"
    assert new["precision@20"] >= NEW_LEADS_PRECISION_AT_20_FLOOR, new
    assert metrics["leads"]["duplicates@20"] <= DUPLICATES_AT_20_CEILING, metrics["leads"]
    assert metrics["surges"]["detected"] >= SURGES_DETECTED_FLOOR, metrics["surges"]
    assert new["precision@20"] > metrics["naive_baseline"]["new_leads"]["precision@20"]


def test_a_spring_as_of_raises_no_seasonal_alert(first_run: RunResult, small_world: Path) -> None:
    """On 2026-04-15, in the season of seeds, pesticides and fertilizer, the detector raises
    no alert that is only the season (alerts in season matching no planted surge)."""
    import duckdb

    from demo_world.evaluate import load_truth, surge_metrics
    from models.surges import daily_series, detect_alerts, load_config

    spring = dt.date(2026, 4, 15)
    config = load_config()
    con = duckdb.connect(str(first_run.out_dir.parent.parent / "first.duckdb"), read_only=True)
    try:
        series = daily_series(con, spring, config.history_days, config)
    finally:
        con.close()
    alerts = detect_alerts(series, spring, config)
    truth = load_truth(small_world)
    metrics = surge_metrics(alerts, truth, spring, config.lookback_days)
    in_season = [s for s in truth.seasonal if spring.month in s["months"]]
    assert in_season, "the as-of date is in a declared season"
    assert metrics["seasonal_false_alerts"] == 0, metrics


def test_a_back_filled_night_leaves_later_exports_byte_identical(
    first_run: RunResult, small_world: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    landing, warehouse = small_world / "landing", tmp_path / "w.duckdb"
    shutil.copy(first_run.out_dir.parent.parent / "first.duckdb", warehouse)
    # Weeks apart, so that complaints leave the 30-day window and the missed night ranks the
    # leads otherwise than the first (a day apart, nothing new is dated: the same ranks).
    day_1, missed, day_3 = (first_run.as_of + dt.timedelta(days=n) for n in (0, 20, 40))
    later = nightly(landing=landing, warehouse=warehouse, as_of=day_3, out=tmp_path / "before")
    args = ["backfill", "--from", str(missed), "--to", str(missed), "--landing", str(landing)]
    args += ["--warehouse", str(warehouse), "--out", str(tmp_path / "filled")]
    filled = CliRunner().invoke(app, args)
    assert filled.exit_code == 0, filled.output
    assert [line for line in filled.stdout.splitlines() if line.startswith("2026-")] == [
        f"{missed}: {filled.stdout.split(f'{missed}: ')[1].split(' leads')[0]} leads, "
        f"exports in {tmp_path / 'filled' / str(missed)}",
    ]
    # The missed night ranks the leads otherwise than the first: had it become the later
    # night's previous run, the later night's rank_change would differ.
    ranks = [read(first_run, "entity_leads")]
    ranks.append(
        pl.read_csv(tmp_path / "filled" / str(missed) / "entity_leads.csv", infer_schema=False)
    )
    assert ranks[0].select("lead_id", "rank").rows() != ranks[1].select("lead_id", "rank").rows()
    again = nightly(landing=landing, warehouse=warehouse, as_of=day_3, out=tmp_path / "after")
    for name in ("entity_leads", "hotspots", "alerts", "data_quality"):
        assert (again.out_dir / f"{name}.csv").read_bytes() == (
            later.out_dir / f"{name}.csv"
        ).read_bytes(), name
    leads = pl.read_csv(again.out_dir / "entity_leads.csv", infer_schema=False)
    assert set(leads["first_flagged"]) <= {str(day_1), str(day_3)}


@pytest.mark.parametrize("late", [False, True], ids=["one more day", "a late complaint"])
def test_an_incremental_night_exports_what_it_does_with_every_day_scanned_again(
    first_run: RunResult, small_world: Path, tmp_path: Path, late: bool
) -> None:
    """Issue 22: the night after the first, whose surge scan takes the days the first night
    stored and scans the new day only, writes the exports byte for byte as the same night
    with every day of the window scanned again; a complaint delivered late for an earlier day
    makes it scan again from that day on."""
    import duckdb

    day = first_run.as_of + dt.timedelta(days=1)
    late_day = first_run.as_of - dt.timedelta(days=20)
    landing = tmp_path / "landing"
    shutil.copytree(small_world / "landing", landing, copy_function=shutil.copy2)
    rows = [
        f"NEXT{i},{day} 1{i}:00:00,hotline_12315,630102,seeds,counterfeit_trademark,consumer,"
        f"明日种业,,taobao,NEXT_SHOP,,买到的种子是假的第{i}次,100,1390001{i:04d}"
        for i in range(3)
    ]
    if late:
        rows.append(
            f"LATE1,{late_day} 09:00:00,hotline_12315,630103,fuel,counterfeit_trademark,"
            "consumer,迟到油品,,,,,加油站的油是假的迟到的投诉,100,13900029999"
        )
    delivered = dt.datetime.combine(day, dt.time(22)).timestamp()
    body = COMPLAINT_HEADER + "\n" + "\n".join(rows) + "\n"
    write(landing / "complaints" / "daily" / f"{day}.csv", body, mtime=delivered)
    taken: dict[str, tuple[dt.date, int]] = {}
    out: dict[str, Path] = {}
    for name, reuse in (("fast", True), ("again", False)):
        warehouse = tmp_path / f"{name}.duckdb"
        shutil.copy(first_run.out_dir.parent.parent / "first.duckdb", warehouse)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(scan, "REUSE_STORED_DAYS", reuse)
            result = nightly(landing=landing, warehouse=warehouse, as_of=day, out=tmp_path / name)
        out[name] = result.out_dir
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            taken[name] = con.execute(
                "select tested_from, taken_days from scores.scan_memo"
            ).fetchone()  # type: ignore[assignment]
        finally:
            con.close()
    tested_from, fast_taken = taken["fast"]
    if late:  # the days before the late complaint's are taken, the rest scanned again
        assert tested_from + dt.timedelta(days=fast_taken) == late_day
    else:  # every day but the new one
        assert tested_from + dt.timedelta(days=fast_taken) == day
    assert taken["again"][1] == 0
    for name in SPEC_COLUMNS:
        for suffix in (".csv", ".parquet"):
            fast = (out["fast"] / f"{name}{suffix}").read_bytes()
            assert fast == (out["again"] / f"{name}{suffix}").read_bytes(), name + suffix


def test_great_expectations_passes_every_feed_of_a_clean_night(first_run: RunResult) -> None:
    import duckdb

    con = duckdb.connect(str(first_run.out_dir.parent.parent / "first.duckdb"), read_only=True)
    try:
        results = con.execute(
            "select feed, success, result from ops.validation_results order by feed"
        ).fetchall()
    finally:
        con.close()
    # The demo world plants bad rows in every feed: they are quarantined, not GX failures.
    assert [(feed, success) for feed, success, _ in results] == [
        (feed, True)
        for feed in ("complaints", "credit", "entities", "inspections", "listings", "outcomes")
    ]
    metas = [json.loads(result)["meta"] for _, _, result in results]
    assert all(0 < m["radar_rows_quarantined"] < m["radar_rows_read"] / 10 for m in metas), metas
    index = (first_run.out_dir.parent / "data_docs" / "index.html").read_text(encoding="utf-8")
    assert "✗" not in index and index.count('<td class="ok">✓ 通过 passed</td>') == 6


def _trained_models(result: RunResult, name: str) -> list[tuple[object, ...]]:
    import duckdb

    con = duckdb.connect(str(result.out_dir.parent.parent / f"{name}.duckdb"), read_only=True)
    try:
        return con.execute(
            "select version, positives, negatives, metrics from ops.models order by version"
        ).fetchall()
    finally:
        con.close()


def test_exports_are_byte_identical_to_the_reference_paths(
    first_run: RunResult, reference_run: RunResult
) -> None:
    """Issue 22: every speed-up leaves the exports byte for byte as the slow paths write them
    (and the model they train: a different case feature would change its version)."""
    models = _trained_models(first_run, "first")
    assert models, "the small world trains a lead model (else training is not compared)"
    assert models == _trained_models(reference_run, "reference")
    for name in SPEC_COLUMNS:
        for suffix in (".csv", ".parquet"):
            fast = (first_run.out_dir / f"{name}{suffix}").read_bytes()
            assert fast == (reference_run.out_dir / f"{name}{suffix}").read_bytes(), name + suffix
