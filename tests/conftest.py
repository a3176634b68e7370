"""Shared fixtures: an in-memory warehouse and small hand-written landing files."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from stdnum.cn.uscc import calc_check_digit

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


# The ingest's speed-ups of issue 22, each a module setting whose False is the slow path it must
# equal: `ingest_reference_paths` switches them all off (tests/test_pipeline.py's reference
# run, and the fuzz test that builds every generated file both ways).
INGEST_SPEED_UPS = (
    ("data_contracts.validate", "SKIP_CLEAN_COLUMNS"),
    ("data_contracts.validate", "JOIN_FLAGGED_ONLY"),
    ("transforms.ingest", "TOMBSTONES_ONCE"),
    ("data_contracts.readers", "CALAMINE"),
)


def ingest_reference_paths(patch: pytest.MonkeyPatch) -> None:
    """Switch every speed-up of the ingest (`INGEST_SPEED_UPS`) to its slow path."""
    for module, name in INGEST_SPEED_UPS:
        patch.setattr(f"{module}.{name}", False)


def make_uscc(body17: str) -> str:
    """A USCC with a correct check character."""
    return body17 + calc_check_digit(body17)


COMPLAINT_HEADER = (
    "complaint_id,received_at,channel,region_code,product_category,infringement_type,"
    "complainant_type,subject_name,subject_uscc,platform,shop_id,brand,description,amount_cny,"
    "complainant_phone"
)


def write(
    path: Path, text: str | bytes, encoding: str = "utf-8", mtime: float | None = None
) -> Path:
    """Write a landing file (creating folders), optionally with a given delivery time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_bytes(text.encode(encoding))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect backend for every flow test of the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated demo world (landing + truth.json), shared by the end-to-end tests."""
    from demo_world.config import WorldConfig
    from demo_world.generate import generate_world

    world = tmp_path_factory.mktemp("world")
    generate_world(world, WorldConfig(seed=11, scale=0.25))
    return world
