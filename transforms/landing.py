"""Find the delivered files in the landing directory, in delivery order.

The landing directory is read-only to the pipeline: nothing here moves, renames
or changes a file.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.batch import DeliveredFile
from data_contracts.contract import FEEDS
from data_contracts.readers import file_format, is_ignored

DISPOSITIONS_FOLDER = "dispositions"  # returned team workbooks, beside the six feeds


@dataclass(frozen=True)
class LandingScan:
    """The feed files in delivery order, and what was passed over (for the run log)."""

    files: list[DeliveredFile]
    ignored: list[str]  # lock and hidden files
    outside_feeds: list[str]  # files not under one of the six feed folders
    # Returned team workbooks (dispositions/, transforms/dispositions.py): not a feed, read
    # apart by the nightly run, so neither loaded as one nor "outside the feeds".
    dispositions: list[DeliveredFile] = field(default_factory=list)


def scan_landing(landing: Path) -> LandingScan:
    """Every entry under the landing directory, classified; feed files sorted by (mtime, path).

    Only regular files are read. A link is followed when it leads to a regular file inside the
    landing directory; any other entry under a feed folder that is not a plain folder (a link
    leading outside, a dangling link, a link to a folder, a FIFO, a folder named like a feed
    file) is listed with its problem, to be rejected unread. Links to folders are never walked.
    """
    if not landing.is_dir():
        raise FileNotFoundError(f"landing directory not found: {landing}")
    root = landing.resolve()
    files: list[DeliveredFile] = []
    ignored: list[str] = []
    outside: list[str] = []
    dispositions: list[DeliveredFile] = []
    entries: list[Path] = []
    for folder, dirs, names in os.walk(landing):  # followlinks=False: folder links not walked
        dirs.sort()
        entries += [Path(folder, name) for name in (*dirs, *names)]
    for path in sorted(entries):
        rel = path.relative_to(landing).as_posix()
        if any(is_ignored(part) for part in rel.split("/")):
            ignored.append(rel)
            continue
        problem = _problem(path, root)
        if problem == "":  # a plain folder: walked, not listed
            continue
        top = rel.split("/", 1)[0].lower()
        if top == DISPOSITIONS_FOLDER and "/" in rel:
            info = path.lstat() if problem else path.stat()
            dispositions.append(DeliveredFile(top, path, rel, info.st_mtime, info.st_size, problem))
            continue
        if top not in FEEDS or "/" not in rel:
            outside.append(rel)
            continue
        info = path.lstat() if problem else path.stat()
        files.append(DeliveredFile(top, path, rel, info.st_mtime, info.st_size, problem))
    files.sort(key=lambda f: (f.mtime, f.rel))
    dispositions.sort(key=lambda f: (f.mtime, f.rel))
    return LandingScan(files, ignored, outside, dispositions)


def _problem(path: Path, root: Path) -> str | None:
    """None for a file to read; "" for a plain folder to walk; else why the entry is not read."""
    mode = path.lstat().st_mode
    if stat.S_ISDIR(mode):
        if file_format(path) is None:
            return ""
        return "不是文件 a folder named like a file, not a file"
    if stat.S_ISREG(mode):
        return None
    if not stat.S_ISLNK(mode):
        return "不是普通文件 not a regular file (a pipe, socket or device)"
    try:
        target = path.resolve()
    except (OSError, RuntimeError):  # a loop of links
        return "链接无效 a link that leads nowhere (a loop of links)"
    if not target.exists():
        return "链接无效 a link to nothing (dangling)"
    if not target.is_relative_to(root):
        return "链接指向落地目录之外 a link leading outside the landing directory: not followed"
    if not target.is_file():
        return "链接不指向文件 a link to a folder or other non-file: not followed"
    return None
