"""双随机、一公开: the risk-weighted random inspection plan of a round, and its public results.

1. `eligible_entities`: the active entities of the register whose registered county is in
   Qinghai, each with its prefecture and its risk tier A-D (企业信用风险分类: A low ... D high)
   from the score of its lead in the last nightly run (no lead: tier A).
2. `draw_plan`: in each prefecture every tier is sampled at its own rate - the configured
   weights scaled so that the expected number of targets is share x eligible - by stochastic
   rounding of rate x count followed by a simple random sample, so an entity's inclusion
   probability is exactly its tier's rate. Each target then gets an inspector team at random
   from the prefecture's roster (least-loaded teams first), never the team that last inspected
   it. A prefecture's generator is `numpy.random.default_rng([seed, int(prefecture_code)])`.
   The manifest records the seed, the SHA-256 of the eligible list and the rates, and
   `verify_plan` re-draws a written plan from them.
3. `public_results`: the round's double_random inspections of the planned entities as the
   public list (一公开), without personal names.
4. `compare_plans`: violations found per inspection, risk-weighted vs a uniform draw.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from data_contracts.config import ConfigFile, read_config
from data_contracts.contract import contracts, prefectures, provinces, regions
from transforms.warehouse import sql_file

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "inspection_plan.yaml"
RNG_RULE = "numpy.random.default_rng([seed, int(prefecture_code)])"
HASH_RULE = "SHA-256 of the UTF-8 lines '<uscc>,<tier>\\n' sorted by uscc"

ELIGIBLE_SCHEMA = pl.Schema(
    {
        "uscc": pl.String,
        "entity_name": pl.String,
        "entity_type": pl.String,
        "region_code": pl.String,
        "county_name": pl.String,
        "prefecture_code": pl.String,
        "prefecture_name": pl.String,
        "lead_id": pl.String,
        "score": pl.Float64,
        "tier": pl.String,
    }
)
PLAN_COLUMNS = [
    "round",
    "item_no",
    "prefecture_code",
    "prefecture_name",
    "region_code",
    "county_name",
    "uscc",
    "entity_name",
    "entity_type",
    "tier",
    "inclusion_probability",
    "inspector_team",
    "last_team",
]
PLAN_HEADERS_ZH = {
    "round": "抽查批次",
    "item_no": "任务编号",
    "prefecture_code": "市州代码",
    "prefecture_name": "市州",
    "region_code": "登记县区代码",
    "county_name": "登记县区",
    "uscc": "统一社会信用代码",
    "entity_name": "主体名称",
    "entity_type": "主体类型",
    "tier": "风险分类",
    "inclusion_probability": "入选概率",
    "inspector_team": "检查组",
    "last_team": "上次检查组（回避）",
}
PUBLIC_COLUMNS = [
    "round",
    "uscc",
    "entity_name",
    "county_name",
    "inspected_on",
    "result",
    "violation_type",
]
PUBLIC_HEADERS_ZH = {
    "round": "抽查批次",
    "uscc": "统一社会信用代码",
    "entity_name": "主体名称",
    "county_name": "所在县区",
    "inspected_on": "检查日期",
    "result": "检查结果",
    "violation_type": "违法违规类型",
}


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    """A risk tier: entities whose lead score is >= min_score (None: entities without a lead)."""

    tier: str
    name_zh: str
    min_score: float | None
    weight: float


@dataclass(frozen=True)
class PlanConfig:
    tiers: tuple[Tier, ...]  # highest risk first
    max_rate: float
    roster_source: str  # inspections | config
    roster: dict[str, tuple[str, ...]]
    business_words: tuple[str, ...]

    @property
    def weights(self) -> dict[str, float]:
        return {t.tier: t.weight for t in self.tiers}


class TierFile(ConfigFile):
    tier: str
    name_zh: str
    min_score: float | None
    weight: float


class PlanFile(ConfigFile):
    """models/config/inspection_plan.yaml."""

    tiers: list[TierFile]
    max_rate: float = 1.0
    roster_source: str = "inspections"
    roster: dict[str, list[str]] | None = None
    business_words: list[str]


def load_plan_config(path: Path | None = None) -> PlanConfig:
    """The plan's configuration, checked: positive weights, exactly one tier for no lead."""
    raw = read_config(path or CONFIG_PATH, PlanFile)
    tiers = tuple(
        Tier(
            str(t["tier"]),
            str(t["name_zh"]),
            None if t["min_score"] is None else float(t["min_score"]),
            float(t["weight"]),
        )
        for t in raw["tiers"]
    )
    if any(not t.weight > 0 for t in tiers):
        raise ValueError("every tier weight must be > 0: each entity needs a non-zero chance")
    if sum(t.min_score is None for t in tiers) != 1:
        raise ValueError("exactly one tier must have min_score: null (entities without a lead)")
    scored = [t for t in tiers if t.min_score is not None]
    ordered = sorted(scored, key=lambda t: -(t.min_score or 0.0)) + [
        t for t in tiers if t.min_score is None
    ]
    if raw.get("roster_source", "inspections") not in ("inspections", "config"):
        raise ValueError("roster_source must be 'inspections' or 'config'")
    return PlanConfig(
        tiers=tuple(ordered),
        max_rate=float(raw.get("max_rate", 1.0)),
        roster_source=str(raw.get("roster_source", "inspections")),
        roster={str(k): tuple(str(t) for t in v) for k, v in (raw.get("roster") or {}).items()},
        business_words=tuple(str(w) for w in raw["business_words"]),
    )


def tier_of(score: float | None, config: PlanConfig) -> str:
    """The tier of a lead score (None: no lead, the lowest tier)."""
    if score is not None and not math.isnan(score):
        for t in config.tiers:
            if t.min_score is not None and score >= t.min_score:
                return t.tier
    return next(t.tier for t in config.tiers if t.min_score is None)


def round_period(round_: str) -> tuple[dt.date, dt.date]:
    """The first and last day of a round given as YYYY-MM."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", round_)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"a round is a month written YYYY-MM, not {round_!r}")
    year, month = int(match[1]), int(match[2])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


# --- the eligible register -------------------------------------------------------------------

ACTIVE_ENTITIES_SQL = sql_file("inspection_plan/active_entities.sql")

TEAMS_SEEN_SQL = sql_file("inspection_plan/teams_seen.sql")

LAST_TEAMS_SQL = sql_file("inspection_plan/last_teams.sql")


def eligible_entities(con: duckdb.DuckDBPyConnection, config: PlanConfig) -> pl.DataFrame:
    """The active entities registered in a Qinghai county, with prefecture and tier, by uscc."""
    rows = []
    for uscc, name, etype, region_code, lead_id, score in con.execute(
        ACTIVE_ENTITIES_SQL
    ).fetchall():
        county = regions().get(region_code or "")
        if county is None:  # registered outside the province: not in this province's draw
            continue
        rows.append(
            {
                "uscc": uscc,
                "entity_name": name,
                "entity_type": etype,
                "region_code": region_code,
                "county_name": county.name,
                "prefecture_code": county.prefecture_code,
                "prefecture_name": county.prefecture_name,
                "lead_id": lead_id,
                "score": score,
                "tier": tier_of(score, config),
            }
        )
    return pl.DataFrame(rows, schema=ELIGIBLE_SCHEMA)


def eligible_sha256(eligible: pl.DataFrame) -> str:
    """SHA-256 of the eligible list: one '<uscc>,<tier>' line per entity, sorted by uscc."""
    pairs = sorted(zip(eligible["uscc"].to_list(), eligible["tier"].to_list(), strict=True))
    return hashlib.sha256("".join(f"{u},{t}\n" for u, t in pairs).encode("utf-8")).hexdigest()


def team_roster(
    con: duckdb.DuckDBPyConnection, config: PlanConfig, before: dt.date
) -> dict[str, list[str]]:
    """Prefecture code -> its inspector teams, sorted; from the inspections feed by default."""
    roster = {code: sorted(set(teams)) for code, teams in config.roster.items()}
    if config.roster_source == "config":
        return roster
    seen: dict[str, set[str]] = {}
    for region_code, team in con.execute(TEAMS_SEEN_SQL, {"before": before}).fetchall():
        county = regions().get(region_code)
        if county is not None:
            seen.setdefault(county.prefecture_code, set()).add(team)
    return roster | {code: sorted(teams) for code, teams in seen.items()}


def last_teams(con: duckdb.DuckDBPyConnection, before: dt.date) -> dict[str, str]:
    """USCC -> the team of its latest inspection dated before `before`."""
    return dict(con.execute(LAST_TEAMS_SQL, {"before": before}).fetchall())


# --- the draw --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrawParameters:
    """Everything the draw depends on besides the eligible list, the roster and last teams."""

    seed: int
    share: float
    weights: dict[str, float]  # tier -> relative rate, highest risk first (the drawing order)
    max_rate: float = 1.0


def tier_rates(
    counts: dict[str, int], weights: dict[str, float], share: float, max_rate: float = 1.0
) -> dict[str, float]:
    """Per-tier sampling rates proportional to the weights, with sum(rate x count) equal to
    share x sum(count); a rate above max_rate is capped and the excess spread over the others."""
    target = share * sum(counts.values())
    capped: set[str] = set()
    while True:
        free = [t for t in weights if t not in capped]
        remaining = target - sum(max_rate * counts[t] for t in capped)
        mass = sum(weights[t] * counts.get(t, 0) for t in free)
        scale = remaining / mass if mass > 0 else 0.0
        over = {t for t in free if counts.get(t, 0) > 0 and scale * weights[t] > max_rate}
        if not over:
            break
        capped |= over
    return {t: max_rate if t in capped else min(max_rate, scale * w) for t, w in weights.items()}


def prefecture_rng(seed: int, prefecture_code: str) -> np.random.Generator:
    """The generator of one prefecture's draw: a function of (seed, prefecture) only."""
    return np.random.default_rng([seed, int(prefecture_code)])


def _pick_team(
    teams: list[str], avoid: str | None, load: dict[str, int], rng: np.random.Generator
) -> str | None:
    allowed = [t for t in teams if t != avoid]
    if not allowed:
        return None
    least = min(load[t] for t in allowed)
    candidates = [t for t in allowed if load[t] == least]
    team = candidates[int(rng.integers(len(candidates)))]
    load[team] += 1
    return team


@dataclass
class Stratum:
    """One prefecture x tier of the draw, as the manifest records it."""

    tier: str
    eligible: int
    rate: float
    expected: float
    drawn: int


@dataclass
class PrefectureDraw:
    prefecture_code: str
    prefecture_name: str
    eligible: int
    eligible_sha256: str
    teams: list[str]
    strata: list[Stratum] = field(default_factory=list)


def draw_plan(
    eligible: pl.DataFrame,
    params: DrawParameters,
    roster: dict[str, list[str]],
    last: dict[str, str],
) -> tuple[pl.DataFrame, list[PrefectureDraw]]:
    """The drawn targets with their teams (no round columns yet), and each prefecture's draw."""
    if not 0 < params.share <= params.max_rate:
        raise ValueError(f"share must be in (0, {params.max_rate}], not {params.share}")
    if params.seed < 0:
        raise ValueError("the seed must be a non-negative integer")
    chosen: list[dict[str, Any]] = []
    draws: list[PrefectureDraw] = []
    for code in sorted(eligible["prefecture_code"].unique().to_list()):
        part = eligible.filter(pl.col("prefecture_code") == code).sort("uscc")
        rng = prefecture_rng(params.seed, code)
        counts = {t: part.filter(pl.col("tier") == t).height for t in params.weights}
        rates = tier_rates(counts, params.weights, params.share, params.max_rate)
        teams = sorted(roster.get(code, []))
        draw = PrefectureDraw(
            code, part["prefecture_name"][0], part.height, eligible_sha256(part), teams
        )
        targets: list[dict[str, Any]] = []
        for tier in params.weights:  # highest risk first
            members = part.filter(pl.col("tier") == tier)
            expected = rates[tier] * members.height
            n = math.floor(expected) + int(rng.random() < expected - math.floor(expected))
            n = min(n, members.height)
            picked = np.sort(rng.choice(members.height, size=n, replace=False))
            for i in picked.tolist():
                targets.append(members.row(i, named=True) | {"inclusion_probability": rates[tier]})
            draw.strata.append(Stratum(tier, members.height, rates[tier], expected, n))
        targets.sort(key=lambda r: r["uscc"])
        load = dict.fromkeys(teams, 0)
        # Teams are handed out in a random order of the targets, so no entity is always first.
        for i in rng.permutation(len(targets)).tolist():
            r = targets[i]
            r["last_team"] = last.get(r["uscc"])
            r["inspector_team"] = _pick_team(teams, r["last_team"], load, rng)
        chosen.extend(targets)
        draws.append(draw)
    schema = ELIGIBLE_SCHEMA | {
        "inclusion_probability": pl.Float64,
        "last_team": pl.String,
        "inspector_team": pl.String,
    }
    return pl.DataFrame(chosen, schema=schema), draws


# --- the plan of a round ---------------------------------------------------------------------


@dataclass
class InspectionPlan:
    """A round's plan: its targets, the eligible list it was drawn from, and its manifest."""

    round: str
    targets: pl.DataFrame
    eligible: pl.DataFrame
    manifest: dict[str, Any]


def _plan_frame(round_: str, targets: pl.DataFrame) -> pl.DataFrame:
    numbered = targets.sort(["prefecture_code", "region_code", "uscc"]).with_columns(
        pl.lit(round_).alias("round"),
        (
            pl.lit(round_ + "-")
            + pl.col("prefecture_code")
            + pl.lit("-")
            + (pl.int_range(1, pl.len() + 1).over("prefecture_code").cast(pl.String).str.zfill(3))
        ).alias("item_no"),
        pl.col("inclusion_probability").round(6),
    )
    return numbered.select(PLAN_COLUMNS)


def make_plan(
    con: duckdb.DuckDBPyConnection,
    round_: str,
    share: float,
    seed: int,
    config: PlanConfig | None = None,
) -> InspectionPlan:
    """Draw the round's plan from the warehouse (register, last leads, inspections before it)."""
    config = config or load_plan_config()
    first, last_day = round_period(round_)
    eligible = eligible_entities(con, config)
    params = DrawParameters(seed, share, config.weights, config.max_rate)
    roster = team_roster(con, config, first)
    targets, draws = draw_plan(eligible, params, roster, last_teams(con, first))
    plan = _plan_frame(round_, targets)
    manifest = {
        "round": round_,
        "period": [first.isoformat(), last_day.isoformat()],
        "seed": seed,
        "share": share,
        "rng": RNG_RULE,
        "numpy_version": np.__version__,
        "method": (
            "per prefecture and tier (highest risk first): n = floor(rate x eligible) + "
            "[u < fractional part], then rng.choice(eligible sorted by uscc, n, replace=False); "
            "then teams for the targets in rng.permutation order, least-loaded first, "
            "never the team of the entity's last inspection"
        ),
        "tiers": [asdict(t) for t in config.tiers],
        "max_rate": config.max_rate,
        "roster_source": config.roster_source,
        "eligible": {
            "count": eligible.height,
            "sha256": eligible_sha256(eligible),
            "hash_rule": HASH_RULE,
            "file": "eligible.csv",
        },
        "targets": plan.height,
        "prefectures": [asdict(d) for d in draws],
    }
    return InspectionPlan(round_, plan, eligible, manifest)


# --- 一公开: the public results list ----------------------------------------------------------


def _region_prefixes() -> list[str]:
    names = {"青海"} | set(provinces().values()) | set(prefectures().values())
    names |= {r.name for r in regions().values()}
    return sorted(names, key=len, reverse=True)


PARENTHESES = re.compile(r"[（(][^）)]*[）)]")
HAN = r"[\u4e00-\u9fff]"
MINORITY_NAME = re.compile(rf"{HAN}{{1,8}}[·•・]{HAN}{{1,8}}")


def _bare_name(name: str) -> str:
    """The name without parenthesised notes and leading province/prefecture/county names."""
    text = PARENTHESES.sub("", name).strip()
    prefixes = _region_prefixes()
    stripped = True
    while stripped:
        stripped = False
        for prefix in prefixes:
            if text.startswith(prefix) and len(text) > len(prefix):
                text, stripped = text[len(prefix) :], True
                break
    return text.strip()


def has_trade_name(name: str | None, business_words: tuple[str, ...]) -> bool:
    """False when an individual business's registered name is (or may be) its owner's name:
    no business word in it, or a person-name shape left after the region prefix."""
    bare = _bare_name(name or "")
    if not any(word in bare for word in business_words):
        return False
    if re.fullmatch(rf"{HAN}{{2,3}}", bare) or MINORITY_NAME.fullmatch(bare):
        return False
    return not (re.fullmatch(rf"{HAN}{{4}}", bare) and not bare.endswith(business_words))


def masked_name(name: str | None) -> str:
    """A name that does not identify the owner: its first character, then asterisks."""
    bare = _bare_name(name or "")
    return f"{bare[:1] or '*'}**（个体工商户）"


def public_name(name: str | None, entity_type: str | None, config: PlanConfig) -> str:
    """The name the public list shows: masked for an individual business without a trade name."""
    if entity_type == "individual_business" and not has_trade_name(name, config.business_words):
        return masked_name(name)
    return name or ""


def _labels(column: str) -> dict[str, str]:
    """Chinese label of each code of an inspections enum column, from the contract."""
    values = contracts()["inspections"].column(column).values
    return {code: meaning.split(" ")[0] for code, meaning in values.items()}


RETURNED_SQL = sql_file("inspection_plan/returned.sql")


@dataclass
class PublicResults:
    """The public list of a round and what is not in it yet."""

    results: pl.DataFrame
    planned: int
    inspected: int
    pending: int


def public_results(
    con: duckdb.DuckDBPyConnection,
    plan: pl.DataFrame,
    round_: str,
    config: PlanConfig | None = None,
) -> PublicResults:
    """一公开: the round's double_random inspections of planned entities with a final result.

    An inspection belongs to a planned entity by its USCC, or - when the feed has no valid
    USCC - by the entity's registered name. Names come from the register, never from the feed,
    and an individual business without a trade name is shown by its USCC and a masked name.
    """
    config = config or load_plan_config()
    first, last_day = round_period(round_)
    returned = con.sql(RETURNED_SQL, params={"first": first, "last": last_day}).pl()
    by_uscc = {r["uscc"]: r for r in plan.iter_rows(named=True)}
    by_name: dict[str, dict[str, Any]] = {}
    for r in plan.iter_rows(named=True):
        by_name.setdefault(r["entity_name"], r)
    result_zh, violation_zh = _labels("result"), _labels("violation_type")
    rows, inspected, pending = [], set(), 0
    for r in returned.iter_rows(named=True):
        target = (
            by_uscc.get(r["entity_uscc"]) if r["entity_uscc"] else by_name.get(r["inspected_name"])
        )
        if target is None:
            continue
        inspected.add(target["uscc"])
        if r["result"] == "pending":
            pending += 1
            continue
        rows.append(
            {
                "round": round_,
                "uscc": target["uscc"],
                "entity_name": public_name(target["entity_name"], target["entity_type"], config),
                "county_name": target["county_name"],
                "inspected_on": r["inspected_on"],
                "result": result_zh.get(r["result"], r["result"]),
                "violation_type": violation_zh.get(r["violation_type"], r["violation_type"]),
                "_order": (target["prefecture_code"], target["region_code"], target["uscc"]),
            }
        )
    rows.sort(key=lambda x: (x["_order"], x["inspected_on"]))
    schema = {c: pl.String for c in PUBLIC_COLUMNS} | {"inspected_on": pl.Date}
    results = pl.DataFrame([{c: r[c] for c in PUBLIC_COLUMNS} for r in rows], schema=schema)
    return PublicResults(results, plan.height, len(inspected), pending)


# --- evaluation on a demo world --------------------------------------------------------------

FAILED_SINCE_SQL = sql_file("inspection_plan/failed_since.sql")


def _uniform_draw(eligible: pl.DataFrame, sizes: dict[str, int], seed: int) -> list[str]:
    """A simple random sample of the same size per prefecture as the plan it is compared with."""
    chosen: list[str] = []
    for code, n in sorted(sizes.items()):
        usccs = sorted(eligible.filter(pl.col("prefecture_code") == code)["uscc"].to_list())
        rng = np.random.default_rng([seed, int(code), 1])
        chosen += [usccs[i] for i in rng.choice(len(usccs), size=n, replace=False).tolist()]
    return chosen


def compare_plans(
    con: duckdb.DuckDBPyConnection,
    truth_path: Path,
    share: float,
    seeds: list[int],
    config: PlanConfig | None = None,
) -> pl.DataFrame:
    """Per seed: violations found per inspection by the risk-weighted plan and by a uniform draw
    of the same size per prefecture. A drawn entity counts as a violation found when it is a
    planted operator of the demo world or failed an inspection in the year to its as-of date."""
    config = config or load_plan_config()
    truth = json.loads(Path(truth_path).read_text(encoding="utf-8"))
    operators = {u for op in truth["operators"] for u in op["usccs"]}
    as_of = dt.date.fromisoformat(truth["as_of"])
    failed = {
        u
        for (u,) in con.execute(
            FAILED_SINCE_SQL, {"since": as_of - dt.timedelta(days=365), "as_of": as_of}
        ).fetchall()
    }
    eligible = eligible_entities(con, config)
    rows = []
    for seed in seeds:
        targets, _ = draw_plan(
            eligible, DrawParameters(seed, share, config.weights, config.max_rate), {}, {}
        )
        sizes = dict(targets.group_by("prefecture_code").len().iter_rows())
        for plan_name, usccs in (
            ("risk_weighted", targets["uscc"].to_list()),
            ("uniform", _uniform_draw(eligible, sizes, seed)),
        ):
            found_op = sum(u in operators for u in usccs)
            found_fail = sum(u in failed for u in usccs)
            found = sum(u in operators or u in failed for u in usccs)
            rows.append(
                {
                    "seed": seed,
                    "plan": plan_name,
                    "inspections": len(usccs),
                    "operators_found": found_op,
                    "failed_last_year_found": found_fail,
                    "violations_found": found,
                    "violations_per_inspection": found / len(usccs) if usccs else 0.0,
                }
            )
    return pl.DataFrame(rows)


def format_comparison(table: pl.DataFrame) -> str:
    """The comparison per seed and its means, as printed by `radar plan-inspections --evaluate`."""
    lines = [
        f"{'seed':>6}  {'plan':14} {'inspections':>11} {'operators':>9} {'failed_1y':>9} "
        f"{'violations':>10} {'per_insp':>8}"
    ]
    for r in table.iter_rows(named=True):
        lines.append(
            f"{r['seed']:>6}  {r['plan']:14} {r['inspections']:>11} {r['operators_found']:>9} "
            f"{r['failed_last_year_found']:>9} {r['violations_found']:>10} "
            f"{r['violations_per_inspection']:>8.3f}"
        )
    means = table.group_by("plan", maintain_order=True).agg(
        pl.col(
            "inspections", "operators_found", "failed_last_year_found", "violations_found"
        ).mean(),
        pl.col("violations_per_inspection").mean().alias("mean"),
        pl.col("violations_per_inspection").std().alias("sd"),
    )
    for r in means.iter_rows(named=True):
        lines.append(
            f"{'mean':>6}  {r['plan']:14} {r['inspections']:>11.1f} {r['operators_found']:>9.1f} "
            f"{r['failed_last_year_found']:>9.1f} {r['violations_found']:>10.1f} "
            f"{r['mean']:>8.3f} (sd {r['sd'] or 0:.3f})"
        )
    return "\n".join(lines)
