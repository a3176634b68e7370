"""`radar` as installed (pyproject.toml, `[project.scripts]`): the pipeline's command line
(`flows/cli.py`) with the demo world's commands `generate`, `demo` and `evaluate` added
(`tools/demo_commands.py`). The pipeline never imports the demo world: `python -m flows.cli`
has every command but those three."""

from __future__ import annotations

import sys

from flows.cli import app
from tools.demo_commands import register

register(app)


def main() -> None:
    sys.exit(app())


if __name__ == "__main__":
    main()
