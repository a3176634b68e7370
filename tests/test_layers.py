"""The README's layers are enforced: import-linter's contracts in pyproject.toml (run by
`make check`) keep the code as it is and fail on an upward import, Prefect outside flows/ or
the pipeline importing the demo world; and no SQL outside transforms/ writes to the warehouse."""

from __future__ import annotations

import graphlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from flows.settings import PROJECT_ROOT
from tools import radar
from tools.demo_commands import register as register_demo_commands
from transforms import warehouse
from transforms.features import ENTITY_FEATURES
from transforms.warehouse import build_order

LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PACKAGES = ("flows", "reports", "models", "transforms", "data_contracts", "demo_world", "tools")


def _lint_imports(project: Path) -> int:
    """lint-imports' exit code on `project` with the contracts of its pyproject.toml."""
    env = os.environ | {"PYTHONPATH": str(project)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(project / "pyproject.toml")],
        cwd=project,
        env=env,
        capture_output=True,
        check=False,
    ).returncode


def _miniature(tmp_path: Path, module: str, source: str) -> Path:
    """The project's packages as empty modules, with the project's contracts, and `source` as
    the module `module` (dotted)."""
    (tmp_path / "pyproject.toml").write_text((PROJECT_ROOT / "pyproject.toml").read_text())
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "base.py").write_text("VALUE = 1\n")
    (tmp_path / "flows" / "cli.py").write_text("import reports.base\n")
    path = tmp_path / Path(*module.split(".")).with_suffix(".py")
    path.write_text(source)
    return tmp_path


def test_the_code_keeps_its_layers() -> None:
    assert _lint_imports(PROJECT_ROOT) == 0


def test_a_miniature_that_keeps_the_layers_passes(tmp_path: Path) -> None:
    project = _miniature(tmp_path, "reports.page", "import models.base\nimport polars\n")
    (project / "flows" / "run.py").write_text("import prefect\nimport reports.page\n")
    (project / "tools" / "bench.py").write_text("import flows.run\nimport demo_world.base\n")
    assert _lint_imports(project) == 0


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("models.scores", "import reports.base\n"),
        ("transforms.build", "def f():\n    from models import base\n    return base\n"),
        ("data_contracts.contract", "import transforms.base\n"),
        ("reports.artifacts", "from prefect.artifacts import create_markdown_artifact\n"),
        ("models.scores", "import demo_world.base\n"),
        ("flows.stages", "import demo_world.base\n"),
        ("reports.page", "import tools.base\n"),
        ("demo_world.evaluate", "from flows import base\n"),
        ("models.sheets", "from openpyxl import Workbook\n"),
    ],
    ids=[
        "models-imports-reports",
        "import-inside-a-function",
        "contract-imports-transforms",
        "prefect-in-reports",
        "models-imports-demo-world",
        "flows-imports-demo-world",
        "reports-imports-tools",
        "demo-world-imports-flows",
        "models-writes-a-workbook",
    ],
)
def test_a_forbidden_import_fails_the_check(tmp_path: Path, module: str, source: str) -> None:
    assert _lint_imports(_miniature(tmp_path, module, source)) == 1


# SQL that changes the warehouse: DDL, DML and COPY. A view registered on the connection
# (`con.register`) is the connection's, not the warehouse's, and may be anywhere.
WRITING_SQL = re.compile(
    r"\b(create\s+(or\s+replace\s+)?(temp\s+|temporary\s+)?(table|schema|view|sequence|index)"
    r"|insert\s+(or\s+replace\s+)?into|merge\s+into|delete\s+from|drop\s+(table|schema|view)"
    r"|alter\s+table|update\s+[a-z_]+\.[a-z_]+\s+set|copy\s+\S+\s+(to|from))\b",
    re.IGNORECASE,
)
PIPELINE_ABOVE_TRANSFORMS = ("data_contracts", "models", "reports", "flows")


def writing_sql(root: Path, packages: tuple[str, ...]) -> list[str]:
    """`file:line` of every line of .py or .sql files under `packages` that writes SQL."""
    found = []
    for package in packages:
        for path in sorted((root / package).rglob("*")):
            if path.suffix not in (".py", ".sql"):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if WRITING_SQL.search(line):
                    found.append(f"{path.relative_to(root)}:{n}")
    return found


def test_only_transforms_writes_to_the_warehouse() -> None:
    assert writing_sql(PROJECT_ROOT, PIPELINE_ABOVE_TRANSFORMS) == []
    assert writing_sql(PROJECT_ROOT, ("transforms",))  # the writers are found where they are


def test_a_writer_outside_transforms_is_found(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "store.py").write_text(
        'SQL = """\ncreate table if not exists ops.models (v VARCHAR)"""\n'
        'con.execute("insert into ops.models values (?)", [v])\n'
    )
    assert writing_sql(tmp_path, ("models",)) == ["models/store.py:2", "models/store.py:3"]


def test_sql_models_are_built_in_the_order_their_files_need() -> None:
    order = build_order(reversed(ENTITY_FEATURES))
    assert order.index("features.complaint_signals") < order.index("features.entity_features")
    assert order.index("features.listing_signals") < order.index("features.entity_features")
    assert order.index("features.listing_signals") < order.index("features.entity_profile")


def test_a_cycle_between_sql_models_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    files = {
        "features/a.sql": "select * from features.b -- features.c is only mentioned",
        "features/b.sql": "select * from features.a",
        "features/c.sql": "select * from staging.complaints",
    }
    monkeypatch.setattr(warehouse, "sql_file", files.__getitem__)
    assert warehouse.build_order(["features.c"]) == ["features.c"]
    assert warehouse.sql_dependencies("features/a.sql") == {"features.b"}
    with pytest.raises(graphlib.CycleError):
        warehouse.build_order(["features.a", "features.b", "features.c"])


def test_a_cycle_inside_a_layer_fails_the_check(tmp_path: Path) -> None:
    project = _miniature(tmp_path, "models.scores", "from models import training\n")
    (project / "models" / "training.py").write_text("from models import scores\n")
    assert _lint_imports(project) == 1
    (project / "models" / "training.py").write_text("import models.base\n")
    assert _lint_imports(project) == 0


def test_the_demo_commands_are_added_outside_the_pipeline() -> None:
    def commands(app: typer.Typer) -> set[str]:
        return {c.name or getattr(c.callback, "__name__", "") for c in app.registered_commands}

    fresh = typer.Typer()
    register_demo_commands(fresh)
    assert commands(fresh) == {"generate", "demo", "evaluate"}
    assert {"run", "backfill", "serve", "generate", "demo", "evaluate"} <= commands(radar.app)
    # the pipeline's own command line (python -m flows.cli) has none of them, nor the demo world
    alone = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, flows.cli as c; "
            "print(sorted(x.name or x.callback.__name__ for x in c.app.registered_commands)); "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'demo_world', 'tools'}))",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "run" in alone[0] and "demo" not in alone[0] and "evaluate" not in alone[0]
    assert alone[1] == "[]"
