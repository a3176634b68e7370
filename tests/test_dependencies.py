"""The two hashed locks agree with pyproject.toml (README, Development): every line of each lock
carries hashes, every pin of pyproject.toml is in its lock at that version, the runtime lock
holds no notebook or development package, and every third-party import of the project's
packages, tests and notebooks is declared (a package used only through another's dependencies
breaks when that one drops it)."""

from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import sys
import tomllib

from flows.settings import PROJECT_ROOT

PACKAGES = ("flows", "transforms", "models", "data_contracts", "demo_world", "reports", "tools")
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)")


def _name(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _pins(requirements: list[str]) -> dict[str, str]:
    return {_name(m.group(1)): m.group(2) for r in requirements if (m := PIN.match(r))}


def _lock(file: str) -> tuple[dict[str, str], list[str]]:
    """The lock's pins, and the pins of it without a hash."""
    entries = re.split(r"\n(?=[A-Za-z0-9])", (PROJECT_ROOT / file).read_text())
    pins: dict[str, str] = {}
    unhashed = []
    for entry in entries:
        if (m := PIN.match(entry)) is None:
            continue
        pins[_name(m.group(1))] = m.group(2)
        if "--hash=sha256:" not in entry:
            unhashed.append(m.group(1))
    return pins, unhashed


def _pyproject() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())


def _imports(sources: list[str]) -> set[str]:
    """Top-level names of the absolute imports in `sources` outside the standard library and
    the project."""
    names = set()
    for source in sources:
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {*PACKAGES, "tests"}


def _undeclared(sources: list[str], declared: set[str]) -> set[str]:
    distributions = importlib.metadata.packages_distributions()
    return {
        module
        for module in _imports(sources)
        if not {_name(d) for d in distributions.get(module, [module])} & declared
    }


def test_every_lock_line_is_hashed_and_every_pin_is_locked_at_its_version():
    project = _pyproject()
    runtime = _pins(project["project"]["dependencies"] + project["build-system"]["requires"])
    extras = project["project"]["optional-dependencies"]
    development = runtime | _pins(extras["notebooks"] + extras["dev"])
    runtime_lock, unhashed_runtime = _lock("requirements.lock")
    dev_lock, unhashed_dev = _lock("requirements-dev.lock")
    assert unhashed_runtime == [] and unhashed_dev == []
    assert {n: runtime_lock.get(n) for n in runtime} == runtime
    assert {n: dev_lock.get(n) for n in development} == development
    # One version of each package: the development lock is constrained by the runtime one.
    assert {n: dev_lock[n] for n in runtime_lock} == runtime_lock
    # Notebooks and development tools stay out of what a deployment installs.
    for package in ("ipykernel", "matplotlib", "pytest", "mypy", "ruff", "fastexcel"):
        assert package not in runtime_lock


def test_every_third_party_import_is_declared():
    project = _pyproject()
    runtime = set(_pins(project["project"]["dependencies"]))
    extras = project["project"]["optional-dependencies"]
    development = runtime | set(_pins(extras["notebooks"] + extras["dev"]))
    pipeline = [
        p.read_text()
        for package in PACKAGES
        if package != "tools"
        for p in (PROJECT_ROOT / package).rglob("*.py")
    ]
    assert _undeclared(pipeline, runtime) == set()
    notebook_cells = [
        "".join(cell["source"])
        for p in (PROJECT_ROOT / "notebooks").glob("*.ipynb")
        for cell in json.loads(p.read_text())["cells"]
        if cell["cell_type"] == "code"
    ]
    rest = [p.read_text() for p in (PROJECT_ROOT / "tools").rglob("*.py")]
    rest += [p.read_text() for p in (PROJECT_ROOT / "tests").rglob("*.py")]
    assert _undeclared(rest + notebook_cells, development) == set()


def test_an_undeclared_import_is_found():
    assert _undeclared(["import numpy\nimport polars\nimport json\n"], {"polars"}) == {"numpy"}
