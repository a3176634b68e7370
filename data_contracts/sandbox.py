"""Read one delivered file in a process of its own: `python -m data_contracts.sandbox`.

A file whose reading once ended a run (out of memory, killed, timed out) is read again this
way, so that if it is the cause it ends only this process, not the night. The batch is spooled
as Parquet (`spool_batch`) and the path printed; nothing of the file is printed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from data_contracts.batch import DeliveredFile, build_batch, spool_batch


def main(argv: list[str]) -> None:
    spec, spool = json.loads(argv[0]), Path(argv[1])
    file = DeliveredFile(spec["feed"], Path(spec["path"]), spec["rel"], spec["mtime"], spec["size"])
    print(spool_batch(build_batch(file), spool))


if __name__ == "__main__":
    main(sys.argv[1:])
