"""Reading the project's YAML configurations (models/config/, transforms/config/) through
pydantic models, as `flows.settings.Settings` reads the environment: every key typed and
checked, an unknown key refused, and one line per bad key in the error.

    raw = read_config(CONFIG_PATH, BaselineFile)   # a plain dict, validated

Each configuration's schema (a `ConfigFile`) sits beside the loader that turns it into the
dataclass its module uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

# A section read straight into a module's own dataclass declares this as its
# `__pydantic_config__`: an unknown key is refused there too.
STRICT_KEYS = ConfigDict(extra="forbid")


class ConfigFile(BaseModel):
    """A configuration file's (or section's) schema: no key beyond those declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """A configuration file that does not match its schema: one line per bad key."""


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(the file)"


def config_problems(path: Path, error: ValidationError) -> list[str]:
    """One line per bad key: `file: key.path: what is wrong`."""
    return [f"{path.name}: {_where(e['loc'])}: {e['msg']}" for e in error.errors()]


def read_config(path: Path, schema: type[ConfigFile]) -> dict[str, Any]:
    """The YAML file at `path` validated by `schema`, as a dict of plain values (numbers
    coerced to the declared types; optional keys absent from the file left out)."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path.name}: not valid YAML: {exc}") from None
    try:
        return schema.model_validate(raw if raw is not None else {}).model_dump(exclude_unset=True)
    except ValidationError as exc:
        raise ConfigError("\n".join(config_problems(path, exc))) from None
