"""Find the delivered files in the landing directory, in delivery order.

The landing directory is read-only to the pipeline: nothing here moves, renames
or changes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from data_contracts.batch import DeliveredFile
from data_contracts.contract import FEEDS
from data_contracts.readers import is_ignored


@dataclass(frozen=True)
class LandingScan:
    """The feed files in delivery order, and what was passed over (for the run log)."""

    files: list[DeliveredFile]
    ignored: list[str]  # lock and hidden files
    outside_feeds: list[str]  # files not under one of the six feed folders


def scan_landing(landing: Path) -> LandingScan:
    """Every file under the landing directory, classified; feed files sorted by (mtime, path)."""
    if not landing.is_dir():
        raise FileNotFoundError(f"landing directory not found: {landing}")
    files: list[DeliveredFile] = []
    ignored: list[str] = []
    outside: list[str] = []
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        rel = path.relative_to(landing).as_posix()
        if any(is_ignored(part) for part in rel.split("/")):
            ignored.append(rel)
            continue
        top = rel.split("/", 1)[0].lower()
        if top not in FEEDS or "/" not in rel:
            outside.append(rel)
            continue
        stat = path.stat()
        files.append(DeliveredFile(top, path, rel, stat.st_mtime, stat.st_size))
    files.sort(key=lambda f: (f.mtime, f.rel))
    return LandingScan(files, ignored, outside)
