"""A broken delivery for the README's Data Docs screenshot (`make screenshots`): a copy of the
first rows of a feed's newest CSV file with new ids and a bad value in one row in five, put in
the landing directory as a new file. The night that loads it shows that feed failed in Data
Docs (more than `limits.quarantined_share` of its rows quarantined), with the file and the rows.

    python -m tools.broken_file --landing data/demo_world/landing --out-name 2026-07/broken.csv
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path


def _text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def write_broken_file(
    landing: Path,
    out_name: str,
    feed: str = "complaints",
    id_column: str = "complaint_id",
    column: str = "channel",
    bad_value: str = "fax",
    rows: int = 30,
) -> Path:
    """Write `<landing>/<feed>/<out_name>`; returns its path."""
    newest = max((p for p in (landing / feed).rglob("*.csv")), key=lambda p: p.as_posix())
    reader = csv.DictReader(io.StringIO(_text(newest)))
    header = list(reader.fieldnames or [])
    named = {h.strip().lower(): h for h in header}  # senders spell headers their own way
    taken = [row for _, row in zip(range(rows), reader, strict=False)]
    for i, row in enumerate(taken):
        row[named[id_column]] = f"{row[named[id_column]]}-B"
        if i % 5 == 4:
            row[named[column]] = bad_value
    out = landing / feed / out_name
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, header, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(taken)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, required=True)
    parser.add_argument("--out-name", required=True, help="path under the feed's folder")
    args = parser.parse_args()
    print(write_broken_file(args.landing, args.out_name))


if __name__ == "__main__":
    main()
