"""Unified Social Credit Code (GB 32100-2015) checks.

python-stdnum's `validate` insists that the first eight characters are digits,
but GB 32100 allows a registration-authority letter first (e.g. `Y`, `N`), so the
format is checked here and only the check-digit arithmetic is reused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from stdnum.cn.uscc import calc_check_digit

# Position 1: registration authority (digit or letter), 2: entity kind, 3-8: county code,
# 9-17: organisation code, 18: check character. The alphabet excludes I, O, S, V, Z.
_FORMAT = re.compile(r"^[0-9A-HJ-NP-RTUWXY]{2}[0-9]{6}[0-9A-HJ-NP-RTUWXY]{10}$")


def is_valid_uscc(code: str) -> bool:
    """True when `code` has the GB 32100 shape and its check character verifies."""
    return bool(_FORMAT.match(code)) and calc_check_digit(code[:17]) == code[17]


def valid_usccs(codes: Iterable[str]) -> set[str]:
    """The codes among `codes` that verify (each distinct code checked once)."""
    return {c for c in set(codes) if is_valid_uscc(c)}


def registered_region(code: str) -> str:
    """Characters 3-8 of a USCC: the county where the entity is registered."""
    return code[2:8]
