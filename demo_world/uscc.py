"""Unified Social Credit Codes (GB 32100-2015) for the demo world: valid ones and planted typos."""

from __future__ import annotations

import random

# The code's alphabet leaves out I, O, S, V and Z.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]

# Characters 1-2: registration authority and entity kind.
AUTHORITY = {
    "company": "91",
    "individual_business": "92",
    "cooperative": "93",
    "other": "Y1",
    "collective": "N2",
}


def check_char(first17: str) -> str:
    """The 18th character that makes `first17` a valid GB 32100 code."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def _org_check(body8: str) -> str:
    """GB 11714 check character of an eight-character organisation code body."""
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def make_uscc(rnd: random.Random, kind: str, county: str) -> str:
    """A valid code for an entity of `kind` registered in `county` (characters 3-8)."""
    if rnd.random() < 0.75:  # codes issued since 2015 start the organisation part with "MA"
        body = "MA" + rnd.choice("01234567") + "".join(rnd.choice(ALPHABET) for _ in range(5))
    else:
        body = "".join(rnd.choice("0123456789") for _ in range(8))
    first17 = AUTHORITY[kind] + county + body + _org_check(body)
    return first17 + check_char(first17)


def is_valid(code: str) -> bool:
    """True when the 18th character verifies."""
    return (
        len(code) == 18 and all(c in ALPHABET for c in code) and check_char(code[:17]) == code[17]
    )


def corrupt(code: str, rnd: random.Random) -> str:
    """The same code with a wrong check character, as a mistyped code looks."""
    wrong = [c for c in ALPHABET if c != code[17]]
    return code[:17] + rnd.choice(wrong)
