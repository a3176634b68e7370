"""The analysts' notebooks: stored without outputs, free of SQL, and run top to bottom on the
small demo world's warehouse (a copy of the report tests' run) without an error."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbformat.v4 import new_code_cell, new_notebook

from flows.settings import PROJECT_ROOT
from tests.report_world import reported_run

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell; the slowest (the backtest's replay) takes a few
SQL = re.compile(r"\b(select|create|insert|update|delete)\b[\s\S]*?\b(from|table|into|set)\b", re.I)


def code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"]


def test_the_four_notebooks_are_there() -> None:
    assert {p.stem for p in NOTEBOOKS} >= {
        "lead_review",
        "surge_exploration",
        "data_quality_review",
        "model_backtest",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{path.name}: clear the outputs before committing"
            assert cell["execution_count"] is None, f"{path.name}: clear the execution counts"
    first = notebook["cells"][0]
    assert first["cell_type"] == "markdown"
    assert "How to run" in "".join(first["source"])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_reads_through_the_projects_functions(path: Path) -> None:
    sources = code_cells(path)
    for source in sources:
        assert not SQL.search(source), f"{path.name}: SQL belongs in the project's functions"
        assert ".sql(" not in source and ".execute(" not in source
        assert "restricted" not in source  # the complainant's phone never leaves the warehouse
    assert "Settings()" in "".join(sources)  # the warehouse comes from Settings


@pytest.fixture(scope="module")
def notebook_env(
    prefect_harness: None,
    small_world: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """RADAR_* variables that point the notebooks' Settings at a copy of the small world's run
    (the kernels inherit the environment)."""
    run = reported_run(small_world, tmp_path_factory)
    base = tmp_path_factory.mktemp("notebooks")
    warehouse = base / "warehouse.duckdb"
    shutil.copy(run.warehouse, warehouse)
    return {
        "RADAR_WAREHOUSE": str(warehouse),
        "RADAR_OUT": str(run.run.out_dir.parent),
        "RADAR_WORLD": str(small_world),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
    }


def execute(
    notebook: nbformat.NotebookNode, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> nbformat.NotebookNode:
    """Run every cell in a fresh python3 kernel started in notebooks/; raises on a cell error."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK_DIR)}},
    )
    return client.execute()


@pytest.mark.slow
def test_the_kernel_is_the_projects_python(
    notebook_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = new_notebook(cells=[new_code_cell("import sys, os\nprint(sys.executable)")])
    done = execute(probe, notebook_env, monkeypatch)
    printed = done.cells[0].outputs[0]["text"].strip()
    assert Path(printed).resolve() == Path(sys.executable).resolve()
    # and a cell that fails fails the run
    failing = new_notebook(cells=[new_code_cell("raise ValueError('broken cell')")])
    with pytest.raises(CellExecutionError, match="broken cell"):
        execute(failing, notebook_env, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_top_to_bottom(
    path: Path, notebook_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    notebook = nbformat.read(path, as_version=4)
    done = execute(notebook, notebook_env, monkeypatch)  # a cell error raises CellExecutionError
    outputs = [o for c in done.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "every notebook plots"
    text = [o for o in outputs if "image/png" not in o.get("data", {})]
    printed = json.dumps(text, ensure_ascii=False)
    assert notebook_env["RADAR_WAREHOUSE"] in printed  # it read the warehouse it was given
    # No complainant phone reaches a notebook.
    con = duckdb.connect(notebook_env["RADAR_WAREHOUSE"], read_only=True)
    try:
        rows = con.sql(
            "select distinct complainant_phone from restricted.complaint_phones_history"
        ).fetchall()
    finally:
        con.close()
    phones = {r[0] for r in rows if r[0]}
    assert phones
    assert not [p for p in phones if p in printed]
