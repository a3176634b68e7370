"""A user's mistakes at the command line are one line on stderr and a non-zero exit, never a
traceback (issue 24, part 6)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tools.radar import app
from transforms.warehouse import warehouse_lock


def invoke(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Exit code and stderr of `radar ARGS`, checked to be a single line without a traceback."""
    result = CliRunner().invoke(app, args, env=env)
    assert "Traceback" not in result.output and not isinstance(result.exception, AssertionError)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.output
    return result.exit_code, lines[0]


def test_an_as_of_date_not_written_iso_is_one_line(tmp_path: Path) -> None:
    code, line = invoke(["run", "--landing", str(tmp_path)], {"RADAR_AS_OF": "30/06/2026"})
    assert code == 2
    assert line == (
        "error: RADAR_AS_OF='30/06/2026' is not a date: write it as YYYY-MM-DD, e.g. 2026-06-30"
    )


def test_a_setting_that_is_not_a_number_names_its_variable() -> None:
    code, line = invoke(["steward", "docs"], {"RADAR_LOOKBACK_DAYS": "ninety"})
    assert code == 2 and line.startswith("error: RADAR_LOOKBACK_DAYS='ninety' is not valid")


def test_a_locked_warehouse_is_one_line_naming_the_holder_before_prefect_starts(
    tmp_path: Path,
) -> None:
    landing = tmp_path / "landing"
    (landing / "complaints").mkdir(parents=True)
    warehouse = tmp_path / "warehouse.duckdb"
    args = ["run", "--landing", str(landing), "--warehouse", str(warehouse)]
    with warehouse_lock(warehouse, 0, "the nightly run brave-fox as of 2026-06-30"):
        code, line = invoke([*args, "--out", str(tmp_path / "out")])
    assert code == 3
    assert line.startswith(f"error: another radar run is using the warehouse {warehouse} (")
    assert "held by the nightly run brave-fox as of 2026-06-30, process " in line
    assert not (tmp_path / "out").exists() and not warehouse.exists()


def test_the_lock_is_free_again_and_names_nobody_after_its_holder_ends(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with warehouse_lock(warehouse, 0, "radar erase"):
        pass
    with warehouse_lock(warehouse, 0, "radar retention"):
        assert "held by radar retention" in Path(f"{warehouse}.lock").read_text()
    assert Path(f"{warehouse}.lock").read_text() == ""


def test_evaluate_without_a_demo_world_is_one_line() -> None:
    code, line = invoke(["evaluate", "--world", "/nope"])
    assert code == 2
    assert line.startswith("error: no demo world in /nope (no truth.json and landing/)")


def test_evaluate_without_a_run_is_one_line(small_world: Path, tmp_path: Path) -> None:
    args = ["evaluate", "--world", str(small_world), "--out", str(tmp_path / "2026-06-30")]
    code, line = invoke(args)
    assert code == 2 and line.startswith(f"error: no run's exports in {tmp_path / '2026-06-30'}")


def test_evaluate_does_not_take_the_data_docs_site_for_a_run(
    small_world: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "data_docs" / "results").mkdir(parents=True)  # OUT holds the site beside runs
    monkeypatch.setenv("RADAR_OUT", str(tmp_path))
    code, line = invoke(["evaluate", "--world", str(small_world)])
    assert code == 2 and line.startswith("error: no run found")


@pytest.mark.parametrize("command", ["list", "accept"])
def test_a_mistyped_feed_names_the_valid_ones(command: str, tmp_path: Path) -> None:
    args = ["steward", command, "--feed", "complaint", "--warehouse", str(tmp_path / "w.duckdb")]
    if command == "accept":
        args += ["--file", "x.csv", "--row", "1", "--by", "me", "--note", "n"]
    code, line = invoke(args)
    assert code == 2
    assert line == (
        "error: unknown feed 'complaint': use one of "
        "complaints, listings, inspections, entities, credit, outcomes"
    )


def test_a_missing_landing_after_the_demo_says_how_to_run_the_demo_again(
    small_world: Path, tmp_path: Path
) -> None:
    env = {"RADAR_WORLD": str(small_world), "RADAR_LANDING": str(tmp_path / "landing")}
    code, line = invoke(["run"], env)
    assert code == 2
    assert line == (
        f"error: landing directory not found: {tmp_path / 'landing'} (the demo's landing is "
        f"{small_world / 'landing'}: `radar demo --rerun` or `make rerun` runs it again, "
        "or set RADAR_LANDING)"
    )
    code, line = invoke(["demo", "--rerun"], {"RADAR_WORLD": str(tmp_path / "none")})
    assert code == 2 and line.startswith(f"error: no demo world in {tmp_path / 'none'}")


@pytest.mark.slow
def test_demo_rerun_runs_the_demo_world_again_on_its_date(
    prefect_harness: None, small_world: Path, tmp_path: Path
) -> None:
    env = {
        "RADAR_WORLD": str(small_world),
        "RADAR_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "RADAR_OUT": str(tmp_path / "out"),
    }
    result = CliRunner().invoke(app, ["demo", "--rerun"], env=env)
    assert result.exit_code == 0, result.output
    as_of = json.loads((small_world / "truth.json").read_text())["as_of"]
    assert dt.date.fromisoformat(as_of) != dt.date.today()
    assert (tmp_path / "out" / as_of / "entity_leads.csv").is_file()
    assert f"Top 10 leads as of {as_of}" in result.stdout
