"""The README's layers are enforced: import-linter's contracts in pyproject.toml (run by
`make check`) keep the code as it is and fail on an upward import, Prefect outside flows/ or
the pipeline importing the demo world."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.settings import PROJECT_ROOT

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
    (tmp_path / "flows" / "cli.py").write_text("import demo_world.base\nimport reports.base\n")
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
    ],
    ids=[
        "models-imports-reports",
        "import-inside-a-function",
        "contract-imports-transforms",
        "prefect-in-reports",
        "models-imports-demo-world",
        "flows-beyond-the-cli-imports-demo-world",
        "reports-imports-tools",
        "demo-world-imports-flows",
    ],
)
def test_a_forbidden_import_fails_the_check(tmp_path: Path, module: str, source: str) -> None:
    assert _lint_imports(_miniature(tmp_path, module, source)) == 1
