"""The mix of a demo world: how many of each actor, over which dates, with how many mistakes."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

DEFAULT_AS_OF = dt.date(2026, 6, 30)


@dataclass(frozen=True)
class WorldConfig:
    """Counts are for scale 1; `scale` multiplies them (never below a small floor).

    The province's complaint volume grows more slowly than its online trade, so the
    background complaints scale with scale**0.75 (scale 5: ~1 M listing rows, ~30 k complaints).

    The population (entities, shops, operators, decoys, their names and codes) is drawn from
    `population_seed`, by default the seed itself at scale 1 and a number derived from seed
    and scale at any other scale: seed 13 at scale 2 shares no operator with seed 13 at
    scale 1, whose names tuned the matcher. The records are drawn from `seed`.
    """

    seed: int = 7
    scale: float = 1.0
    population_seed: int | None = None
    as_of: dt.date = DEFAULT_AS_OF
    history_days: int = 540  # complaints, inspections and credit records cover this many days
    snapshot_weeks: int = 26  # weekly listing snapshots before as_of
    operators: int = 60
    decoys: int = 40
    surges: int = 4
    split_surges: int = 1  # over two districts (at scale 1 and above: round(1 × scale))
    entities: int = 3000
    shops: int = 800
    background_complaints: int = 6500
    inspections: int = 3000
    credit_records: int = 1000
    outcomes: int = 300
    weak_operator_share: float = 0.35  # operators that show only one or two signals
    bad_row_share: float = 0.01  # rows planted with exactly one quarantine reason
    listing_bad_row_share: float = 0.001  # the same in listings, whose volume is much larger
    uscc_typo_share: float = 0.005  # USCC cells (outside the register) with a wrong check digit

    @property
    def actors_seed(self) -> int:
        """The seed the population is drawn from (see the class docstring)."""
        if self.population_seed is not None:
            return self.population_seed
        if self.scale == 1:
            return self.seed
        digest = hashlib.sha256(f"population:{self.seed}:{self.scale:g}".encode()).digest()
        return int.from_bytes(digest[:4], "big")

    def count(self, base: int, floor: int = 1) -> int:
        """`base` at this scale, at least `floor`."""
        return max(floor, round(base * self.scale))

    @property
    def complaint_volume(self) -> int:
        return max(40, round(self.background_complaints * self.scale**0.75))

    @property
    def history_start(self) -> dt.date:
        return self.as_of - dt.timedelta(days=self.history_days - 1)

    @property
    def snapshot_dates(self) -> tuple[dt.date, ...]:
        """Mondays on or before as_of, oldest first."""
        last = self.as_of - dt.timedelta(days=self.as_of.weekday())
        weeks = range(self.snapshot_weeks - 1, -1, -1)
        return tuple(last - dt.timedelta(weeks=k) for k in weeks)
