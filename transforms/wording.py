"""Counterfeit slang and honest wording in listing titles: one reviewed list (config/wording.yaml)
for the listing features and the surge detector, matched on folded titles.

Folding maps full-width ASCII (Ａ, １, ：, the ideographic space) to half-width and lower-cases,
in SQL by `lower(translate(title, $fullwidth, $halfwidth))`; the terms are folded the same way
here and joined into one regular expression each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from data_contracts.config import ConfigFile, read_config

WORDING_PATH = Path(__file__).resolve().parent / "config" / "wording.yaml"
FULLWIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u3000"
HALFWIDTH = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)) + " "


@dataclass(frozen=True)
class Wording:
    slang: tuple[str, ...]
    honest: tuple[str, ...]


class WordingFile(ConfigFile):
    """transforms/config/wording.yaml."""

    slang: list[str]
    honest: list[str]


@cache
def load_wording(path: Path = WORDING_PATH) -> Wording:
    raw = read_config(path, WordingFile)
    return Wording(tuple(str(t) for t in raw["slang"]), tuple(str(t) for t in raw["honest"]))


def fold(text: str) -> str:
    """Full-width ASCII to half-width, then lower case (as the SQL folds titles)."""
    return text.translate(str.maketrans(FULLWIDTH, HALFWIDTH)).lower()


def pattern(terms: tuple[str, ...]) -> str:
    """One regular expression matching any of the folded terms."""
    return "|".join(re.escape(fold(t)) for t in terms)


def wording_params(wording: Wording | None = None) -> dict[str, str]:
    """The SQL parameters of the wording: the folding maps and the two patterns."""
    wording = wording or load_wording()
    return {
        "fullwidth": FULLWIDTH,
        "halfwidth": HALFWIDTH,
        "slang_pattern": pattern(wording.slang),
        "honest_pattern": pattern(wording.honest),
    }
