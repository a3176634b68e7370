"""Link online storefronts that share no registration number or contact, to each other and to
the registered business they are the storefront of (Fellegi-Sunter, Splink's model, on DuckDB).

Platforms bar one seller from running several shops of one category, so a ring runs them
under one trade name in several dressings (`兴湖药店1店` / `兴湖药店2店`; `佳富优选` /
`瑞佳富小铺`), on one or several platforms, in one category, shipping from one county, with
similar titles and one price pattern, opened within weeks of each other. This module scores
pairs of shops on that soft evidence and returns the pairs above the threshold as shop links
(key_a, key_b, match_probability and the evidence an inspector reads), which
`resolve.link_keys` applies as soft joins: never joining two USCCs.

The candidates are the shops with listings (`sql/core/shop_candidates.sql`) with their
trade-name stem (`names.trade_stem`). A stem that is a brand the listings carry (`华为`,
`壳牌`) names the brand, not the seller: authorised resellers and brand stores share it, so
it is not compared (left null). The stem's exact level is adjusted for the stem's frequency
(term-frequency adjustment): a stem that many shops use counts for little. A soft link
alone never joins two categories: pairs of two main categories are dropped, whatever
their score.

Cluster evidence: a shop that no link joins, whose pairs with a group of linked shops are each
only moderately likely (a ring's storefront shipping from another county of its prefecture),
joins the group when those pairs together reach the threshold (`with_cluster_evidence`). A
keyless shop that opened in the same weeks as a keyless ring that opened together joins it
wherever it ships from (`_opened_with_the_ring`): a ring opens its storefronts in a burst, a
franchise chain's branches and a business's shops opened over the years, mostly before the
data, and register.

Business links: a registered business (the register, with the category of its records:
`sql/core/business_candidates.sql`) is compared with the shops on its trade-name stem
(`names.business_stem`) and its registered location against their ship-from, with the same
model, blocking and threshold: a shop that carries a business's trade name, in its category,
shipping from its county, is its storefront (`兴湖大药房` of `西宁市兴湖药店有限公司`). Such a
link joins the business's USCC to the shop (never two USCCs); a shop linked to two businesses,
or to another shop (a ring's), gets none (`_not_storefronts`).

Pairs are scored in SQL (`pair_scores_sql`) with Splink's formula and the configured m/u, not
by a Splink linker per resolution (its set-up cost more than the scoring: the resolution runs
in each training period too); Splink estimates the m/u (`estimate_shop_model`), and a test
checks that both give each pair the same probability.

The m/u probabilities are a reviewed configuration (`config/shop_linkage.yaml`), estimated
from the data itself by `estimate_shop_model` (u by seeded random sampling, m by
expectation maximisation on the two blocking rules, the prior from the blocking rules'
pair counts), never from a demo world's truth; fixed between runs so that nights are
byte-identical and a small world scores like the province.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl
from pydantic import model_validator
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink import comparison_level_library as cll
from splink import comparison_library as cl

from data_contracts.config import ConfigFile, read_config
from transforms.names import business_stem, trade_stem
from transforms.splink_match import MU
from transforms.warehouse import has_table, materialize, replace_table, scratch, sql_file

M_U_CLAMP_MIN = 1e-300  # Splink's floor under m and u in a match weight

if TYPE_CHECKING:
    from splink.internals.comparison_level_creator import ComparisonLevelCreator

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "shop_linkage.yaml"

OPENED_TOGETHER_DAYS = 28  # two shops opened within 4 weeks: the `weeks` level of opened_on

# The lists compared are sets (distinct, no null: `sql/core/shop_candidates.sql`), so the size
# of their union is |A| + |B| - |A and B|: not built (0.2 s of CPU per resolution at province
# scale, 8 k pairs; the same value as the size of the distinct concatenation)
_JACCARD = (
    "len(list_intersect({c}_l, {c}_r))"
    " / greatest(1, len({c}_l) + len({c}_r) - len(list_intersect({c}_l, {c}_r)))"
)
_TITLES = _JACCARD.format(c="shingles")
_BRANDS = _JACCARD.format(c="brands")

# comparison (its column) -> level -> (SQL on the pair's two sides, label); the exact stem
# level is Splink's own, for its term-frequency adjustment. Most specific level first.
LEVELS: dict[str, dict[str, tuple[str, str]]] = {
    "stem": {
        "contains": (
            "contains(stem_l, stem_r) or contains(stem_r, stem_l)",
            "one stem contains the other",
        ),
    },
    "ship_from": {
        "same": ("ship_from_l = ship_from_r", "same ship-from county"),
        "same_prefecture": (
            "substr(ship_from_l, 1, 4) = substr(ship_from_r, 1, 4)",
            "same ship-from prefecture",
        ),
    },
    "shingles": {
        "high": (f"{_TITLES} >= 0.5", "titles alike (half the shingles shared)"),
        "some": (f"{_TITLES} >= 0.25", "titles partly alike"),
    },
    "brands": {
        "most": (f"{_BRANDS} >= 0.5", "half the brands shared"),
        "some": ("len(list_intersect(brands_l, brands_r)) > 0", "a brand shared"),
    },
    "price_ratio": {
        "close": ("abs(price_ratio_l - price_ratio_r) <= 0.05", "same price pattern"),
        "near": ("abs(price_ratio_l - price_ratio_r) <= 0.15", "similar price pattern"),
    },
    "opened_on": {
        "weeks": (
            f"abs(date_diff('day', opened_on_l, opened_on_r)) <= {OPENED_TOGETHER_DAYS}",
            "opened within 4 weeks",
        ),
        "months": ("abs(date_diff('day', opened_on_l, opened_on_r)) <= 91", "within 3 months"),
    },
}


@dataclass(frozen=True)
class ClusterEvidence:
    """When a shop joins a group of shops already linked on the sum of its pairs' evidence
    (`with_cluster_evidence`)."""

    moderate: float  # a pair at least this likely is moderate evidence
    min_pairs: int  # moderate pairs with as many of the group's shops needed


@dataclass(frozen=True)
class ShopLinkConfig:
    """Threshold and Fellegi-Sunter parameters of the shop linker."""

    threshold: float
    prior: float  # probability that two random shops are one operator's
    comparisons: dict[str, dict[str, MU]]  # column -> level (of `levels`) -> m/u
    cluster: ClusterEvidence


def level_names(column: str) -> list[str]:
    """The levels of a comparison, most specific first, `else` last."""
    exact = ["exact"] if column == "stem" else []
    return [*exact, *LEVELS[column], "else"]


class ShopLinkageFile(ConfigFile):
    """transforms/config/shop_linkage.yaml: every comparison of `LEVELS` with m and u for each
    of its levels."""

    threshold: float
    probability_two_random_records_match: float
    cluster_evidence: dict[str, float]
    comparisons: dict[str, dict[str, MU]]

    @model_validator(mode="after")
    def _every_level(self) -> ShopLinkageFile:
        if set(self.cluster_evidence) != {"moderate", "min_pairs"}:
            raise ValueError("cluster_evidence must have exactly moderate and min_pairs")
        if set(self.comparisons) != set(LEVELS):
            raise ValueError(f"comparisons must be exactly {sorted(LEVELS)}")
        for column, levels in self.comparisons.items():
            if set(levels) != set(level_names(column)):
                raise ValueError(f"comparisons.{column} must have the levels {level_names(column)}")
        return self


def load_config(path: Path | None = None) -> ShopLinkConfig:
    """The shop linker's settings from transforms/config/shop_linkage.yaml (or `path`)."""
    raw = read_config(path or CONFIG_PATH, ShopLinkageFile)
    comparisons = {
        column: {k: MU(float(v["m"]), float(v["u"])) for k, v in levels.items()}
        for column, levels in raw["comparisons"].items()
    }
    return ShopLinkConfig(
        threshold=float(raw["threshold"]),
        prior=float(raw["probability_two_random_records_match"]),
        comparisons=comparisons,
        cluster=ClusterEvidence(
            moderate=float(raw["cluster_evidence"]["moderate"]),
            min_pairs=int(raw["cluster_evidence"]["min_pairs"]),
        ),
    )


def _comparison(column: str, params: dict[str, MU] | None) -> cl.CustomComparison:
    levels: dict[str, ComparisonLevelCreator] = {}
    if column == "stem":
        levels["exact"] = cll.ExactMatchLevel("stem", term_frequency_adjustments=True)
    for key, (sql, label) in LEVELS[column].items():
        levels[key] = cll.CustomLevel(sql, label_for_charts=label)
    levels["else"] = cll.ElseLevel()
    if params is not None:
        for key, level in levels.items():
            level.configure(m_probability=params[key].m, u_probability=params[key].u)
    creators: list[ComparisonLevelCreator | dict[str, Any]] = [cll.NullLevel(column)]
    creators += levels.values()
    return cl.CustomComparison(creators, output_column_name=column)


# One stem contained in the other, not equal (佳富 / 瑞佳富), of one category: a join on a
# condition, not on keys.
STEM_CONTAINED = (
    "l.category = r.category and l.stem <> r.stem"
    " and (contains(l.stem, r.stem) or contains(r.stem, l.stem))"
)


# Two shops of one category and one ship-from prefecture (the county code's first 4 digits),
# in two counties, whose stems differ but one contains the other, the contained one of at
# least 2 characters (源盛 / 恒源盛): a ring's storefront dressed with an extra character in a
# neighbouring county. Such a pair alone stays short of the threshold (another county and a
# contained stem: 0.5-0.8); it is scored so that its evidence counts towards a group of the
# ring's linked shops (`with_cluster_evidence`). Shops only: a business link needs one stem.
PREFECTURE_CONTAINED = (
    "l.category = r.category and substr(l.ship_from, 1, 4) = substr(r.ship_from, 1, 4)"
    " and l.ship_from <> r.ship_from and l.stem <> r.stem"
    " and least(length(l.stem), length(r.stem)) >= 2"
    " and (contains(l.stem, r.stem) or contains(r.stem, l.stem))"
)


def blocking_rules() -> list[Any]:
    """Pairs to score, all of one main category (a soft link never joins two): one stem; one
    ship-from county (where one stem contained in the other is found: 佳富 / 瑞佳富); one
    ship-from prefecture with one stem contained in the other (`PREFECTURE_CONTAINED`). The
    pairs of contained stems in two prefectures are scored only for estimation
    (`STEM_CONTAINED`): another prefecture weighs against a link more than a contained stem
    for it, and a franchise chain's branches look the same."""
    return [
        block_on("stem", "category"),
        block_on("ship_from", "category"),
        PREFECTURE_CONTAINED,
    ]


def shop_link_settings(config: ShopLinkConfig, trained: bool = True) -> SettingsCreator:
    """Splink settings; with `trained` False the m/u are left for estimation."""
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="key",
        probability_two_random_records_match=config.prior,
        comparisons=[
            _comparison(column, config.comparisons[column] if trained else None)
            for column in LEVELS
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().replace(" ", "")


def _brands(candidates: pl.DataFrame) -> set[str]:
    # each distinct brand folded once: the shops list 220 k brands in the 14 feature days of
    # the province world's training, a few hundred distinct
    return {_folded(b) for b in candidates["brands"].explode().drop_nulls().unique().to_list()}


def with_stems(
    candidates: pl.DataFrame,
    brands: set[str] | None = None,
    stem: Callable[[str | None], str | None] = trade_stem,
) -> pl.DataFrame:
    """The candidates with the trade-name stem (`stem` of the name: `trade_stem` of a shop's,
    `business_stem` of a registered name); a stem that is a brand the listings carry (`brands`,
    else the candidates' own) is left null (it names the brand, not the seller)."""
    names = candidates["shop_name"].unique().drop_nulls().to_list()
    stems = pl.DataFrame(
        {"shop_name": names, "stem": [stem(n) for n in names]},
        schema={"shop_name": pl.String, "stem": pl.String},
    )
    brands = _brands(candidates) if brands is None else brands
    return (
        candidates.drop("stem", strict=False)
        .join(stems, on="shop_name", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("stem").is_in(list(brands)))
            .then(None)
            .otherwise(pl.col("stem"))
            .alias("stem")
        )
    )


def refresh_shop_candidates(con: duckdb.DuckDBPyConnection, as_of: object) -> pl.DataFrame:
    """core.shop_candidates as of `as_of`, with stems: the query's rows (in key order) stemmed,
    then written once."""
    found = con.sql(sql_file("core/shop_candidates.sql"), params={"as_of": as_of}).pl()
    candidates = with_stems(found)
    replace_table(con, "core.shop_candidates", candidates)
    return candidates


BUSINESS_SCHEMA = {
    "key": pl.String,
    "shop_name": pl.String,
    "ship_from": pl.String,
    "category": pl.String,
    "stem": pl.String,
}


def business_candidates(
    con: duckdb.DuckDBPyConnection, as_of: object, shops: pl.DataFrame
) -> pl.DataFrame:
    """core.business_candidates as of `as_of`: the registered businesses a shop may be the
    storefront of (`sql/core/business_candidates.sql`), with the stem of their registered name
    (`business_stem`; a brand of the shops' listings is no stem), those with a stem only."""
    materialize(con, "core.business_candidates", "core/business_candidates.sql", {"as_of": as_of})
    found = con.sql("select * from core.business_candidates order by key").pl()
    stemmed = with_stems(found, _brands(shops), stem=business_stem)
    businesses = stemmed.filter(pl.col("stem").is_not_null()).select(list(BUSINESS_SCHEMA))
    replace_table(con, "core.business_candidates", businesses)
    return businesses


def _linker(db_api: DuckDBAPI, candidates: pl.DataFrame, config: ShopLinkConfig, trained: bool):
    columns = ["key", "category", "stem", *(c for c in LEVELS if c != "stem")]
    table = db_api.register(candidates.select(columns).to_arrow(), table_name="shop_candidates")
    return Linker(table, shop_link_settings(config, trained), log_level=None)


def _scratch() -> DuckDBAPI:
    """Splink's own in-memory DuckDB, so that its working tables stay out of the warehouse."""
    return DuckDBAPI(scratch())


# No shop, no pair: every scored pair holds a shop (`pair_scores_sql`), so without shop
# candidates (training's nine feature days before the first listing snapshot, province world)
# the businesses are not scored against each other for nothing: 0.07 s of CPU a day.
# False: scored as before (the reference path).
NO_SHOP_NO_PAIR = True

LINK_SCHEMA = {
    "key_a": pl.String,
    "key_b": pl.String,
    "match_probability": pl.Float64,
    "stem": pl.String,
    "ship_from": pl.String,
    "category": pl.String,
    "title_similarity": pl.Float64,
    # the rule that made a link no pair's score reaches: `cluster_evidence`, `opened_with_ring`
    # (`with_cluster_evidence`); null for a pair scored at the threshold
    "rule": pl.String,
}

CLUSTER_RULE = "cluster_evidence"
OPENED_RULE = "opened_with_ring"


def _match_weight(m: float, u: float) -> float:
    return math.log2(max(m, M_U_CLAMP_MIN) / max(u, M_U_CLAMP_MIN))


def weight_params(config: ShopLinkConfig) -> dict[str, float]:
    """The bound parameters of `pair_scores_sql`: the prior's match weight, log2(m/u) of every
    level (`w_<column>_<level>`) and log2(u) of the exact stem level (its term-frequency
    adjustment), as Splink computes them."""
    prior = config.prior
    params = {"prior_weight": math.log2(prior / (1 - prior))}
    for column, levels in config.comparisons.items():
        for level, mu in levels.items():
            params[f"w_{column}_{level}"] = _match_weight(mu.m, mu.u)
    params["log2_u_stem_exact"] = math.log2(
        max(config.comparisons["stem"]["exact"].u, M_U_CLAMP_MIN)
    )
    return params


def _weight_sql(column: str) -> str:
    """The match weight of a pair on one comparison: its level's (0 when a side is null). One
    searched case over the levels' conditions (`_level_whens`), not a case on the level's name:
    DuckDB evaluates the subject of a simple case once for each of its branches, the title
    similarity up to eight times a pair."""
    whens = " ".join(
        f"when {condition} then {'0.0' if level == 'null' else f'$w_{column}_{level}'}"
        for condition, level in _level_whens(column)
    )
    return f"(case {whens} else $w_{column}_else end)"


def pair_scores_sql() -> str:
    """Every pair of candidates (table `candidates`: key, is_shop, category, stem, tf, and the
    compared columns) of one main category with a stem in common, at least one of them a shop,
    whose match probability is at least $at_least: (key_l, key_r, match_weight, stem_weight,
    match_probability); `stem_weight` is the part of the weight every pair of one stem shares
    (the prior, the stem's level and its frequency adjustment).

    The pairs are those Splink's blocking rules give (one stem and category; one ship-from and
    category) less those the rules around the score drop (two categories; stems that do not
    contain one another); the score is Splink's Fellegi-Sunter sum (prior + each level's
    log2(m/u), the exact stem adjusted for the stem's frequency `tf`) in Splink's order, so
    that the probabilities are Splink's (`tests/test_shop_linkage.py`)."""
    sides = ", ".join(
        f"l.{c} as {c}_l, r.{c} as {c}_r" for c in ("key", "stem", "tf", *LEVELS) if c != "stem"
    )
    sides += ", l.stem as stem_l, r.stem as stem_r"
    tf_adjustment = (
        "(case when stem_l = stem_r and coalesce(tf_l, tf_r) is not null"
        " then $log2_u_stem_exact - log2(greatest(tf_l, tf_r, 0.0)) else 0.0 end)"
    )
    stem_weight = " + ".join(["$prior_weight", _weight_sql("stem"), tf_adjustment])
    # each list similarity computed once a pair (`compared`), its levels compare the value
    similarities = {"shingles": _TITLES, "brands": _BRANDS}
    weight = " + ".join(
        [stem_weight]
        + [
            _weight_sql(c).replace(similarities[c], f"{c}_similarity")
            if c in similarities
            else _weight_sql(c)
            for c in LEVELS
            if c != "stem"
        ]
    )
    computed = ", ".join(f"{sql} as {c}_similarity" for c, sql in similarities.items())
    return f"""
        with
        c as (select * from candidates where stem is not null and category is not null),
        pairs as (
            select l.key as key_l, r.key as key_r from c l join c r
                on l.category = r.category and l.stem = r.stem and l.key < r.key
            where l.is_shop or r.is_shop
            union
            select l.key, r.key from c l join c r
                on l.category = r.category and l.ship_from = r.ship_from and l.key < r.key
                and l.stem <> r.stem and (contains(l.stem, r.stem) or contains(r.stem, l.stem))
            where l.is_shop or r.is_shop
            union
            select l.key, r.key from c l join c r
                on l.key < r.key and {PREFECTURE_CONTAINED}
            where l.is_shop and r.is_shop
        ),
        compared as materialized (
            select {sides}, {computed}
            from pairs p join c l on l.key = p.key_l join c r on r.key = p.key_r
        ),
        weighed as (
            select key_l, key_r, {weight} as match_weight, {stem_weight} as stem_weight
            from compared
        ),
        final as (
            select key_l, key_r, match_weight, stem_weight,
                   case when match_weight >= 0
                        then 1.0 / (1.0 + power(cast(2 as double), -match_weight))
                        else power(cast(2 as double), match_weight)
                             / (1.0 + power(cast(2 as double), match_weight))
                   end as match_probability
            from weighed
        )
        select * from final where match_probability >= $at_least
    """


def _with_term_frequencies(shops: pl.DataFrame, businesses: pl.DataFrame) -> pl.DataFrame:
    """Shops and businesses as one table of candidates, with `is_shop` and `tf`: a shop's stem's
    share of the shops' stems (Splink's term frequency over the shops scored); a business's,
    the larger of its count among the shops and among the businesses, over the shops' stems
    (a stem that many registered businesses use counts for as little as one that many shops
    use; over the shops, so that a small register does not make every stem common), so that
    a business changes nothing in the score of two shops."""
    columns = ["key", "category", "stem", *(c for c in LEVELS if c != "stem")]
    stems = shops["stem"].drop_nulls()
    total = max(stems.len(), 1)
    shop_counts = stems.value_counts(name="shops")
    shop_rows = (
        shops.select(columns)
        .join(shop_counts, on="stem", how="left")
        .select(*columns, (pl.col("shops") / total).alias("tf"), pl.lit(True).alias("is_shop"))
    )
    if businesses.is_empty():
        return shop_rows
    business_counts = businesses["stem"].drop_nulls().value_counts(name="businesses")
    business_rows = (
        businesses.with_columns(
            *(
                pl.lit(None, shops.schema[c]).alias(c)
                for c in columns
                if c not in businesses.columns
            )
        )
        .select(columns)
        .join(shop_counts, on="stem", how="left")
        .join(business_counts, on="stem", how="left")
        .select(
            *columns,
            (pl.max_horizontal("shops", "businesses") / total).alias("tf"),
            pl.lit(False).alias("is_shop"),
        )
    )
    return pl.concat([shop_rows, business_rows])


def _not_storefronts(pairs: pl.DataFrame, threshold: float) -> list[str]:
    """The shops whose business links (key_b a USCC) are not made: a shop linked at the
    threshold to two registered businesses (they cannot both run it: it goes to neither, as
    a name that fits two businesses does), and a shop that shop links join to another shop
    (a ring's: a seller that hides its keys behind several storefronts does not trade under
    its registered name; a business's own storefront carries its name, and its USCC or
    contact joins its other shops). On seed 51 a keyless ring of six shops shared its trade
    name with an unrelated pharmacy of its county and category (p 0.909 each)."""
    linked = pairs.filter(pl.col("match_probability") >= threshold)
    business = pl.col("key_b").str.starts_with("uscc:")
    two = (
        linked.filter(business)
        .group_by("key_a")
        .agg(pl.col("key_b").n_unique().alias("businesses"))
        .filter(pl.col("businesses") > 1)["key_a"]
    )
    rings = linked.filter(~business).select(pl.concat_list("key_a", "key_b").explode())
    return sorted({*two.to_list(), *rings.to_series().to_list()})


def _linked_groups(links: pl.DataFrame) -> dict[str, str]:
    """Shop -> its group (the smallest key) of the shops that the links join."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for a, b in links.select("key_a", "key_b").iter_rows():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {key: find(key) for key in parent}


def _opened_with_the_ring(
    sides: pl.DataFrame,
    groups: dict[str, str],
    keyless: set[str],
    openings: dict[str, dt.date],
    config: ShopLinkConfig,
) -> pl.DataFrame:
    """(shop, group, strongest, cluster_p) of the shops that join a ring because they opened
    with it: a group of `keyless` shops (none shows a USCC) of at least `cluster.min_pairs`,
    every one of them opened after the data began (`openings`: shop -> its first snapshot, when
    known), and a keyless shop that no link joins, scored against at least `cluster.min_pairs`
    of them (one category, a trade name in common) and opened within `OPENED_TOGETHER_DAYS` of
    each of those. The pair with its strongest such member is set at the threshold (a link made
    by a rule, not by the score: the weakest a link can be). A shop two groups would take joins
    neither."""
    members: dict[str, list[str]] = {}
    for key, group in groups.items():
        members.setdefault(group, []).append(key)
    rings = [
        g
        for g, keys in members.items()
        if g in keyless
        and len(keys) >= config.cluster.min_pairs
        and all(k in openings for k in keys)
    ]
    schema = {
        "shop": pl.String,
        "group": pl.String,
        "strongest": pl.String,
        "cluster_p": pl.Float64,
    }
    if not rings:
        return pl.DataFrame(schema=schema)
    group_of = pl.DataFrame(
        {"member": list(groups), "group": list(groups.values())},
        schema={"member": pl.String, "group": pl.String},
    ).filter(pl.col("group").is_in(rings))
    opened = pl.DataFrame(
        {"key": list(openings), "opened_on": list(openings.values())},
        schema={"key": pl.String, "opened_on": pl.Date},
    )
    return (
        sides.filter(~pl.col("shop").is_in(list(groups)))
        .join(group_of, on="member")
        .join(opened.rename({"key": "shop", "opened_on": "shop_opened"}), on="shop")
        .join(opened.rename({"key": "member", "opened_on": "member_opened"}), on="member")
        .filter(
            (pl.col("shop_opened") - pl.col("member_opened")).dt.total_days().abs()
            <= OPENED_TOGETHER_DAYS
        )
        .sort(["match_probability", "member"], descending=[True, False])
        .group_by("shop", "group", maintain_order=True)
        .agg(pl.col("member").first().alias("strongest"), pl.len().alias("together"))
        .filter(pl.col("together") >= config.cluster.min_pairs)
        .filter(pl.col("shop").is_unique())  # two groups would take it: neither does
        .select("shop", "group", "strongest", pl.lit(config.threshold).alias("cluster_p"))
        .cast(schema)  # type: ignore[arg-type]
    )


def with_cluster_evidence(
    pairs: pl.DataFrame,
    config: ShopLinkConfig,
    usccs: dict[str, str] | None = None,
    openings: dict[str, dt.date] | None = None,
) -> pl.DataFrame:
    """The scored pairs of shops (key_a, key_b, match_probability, match_weight, stem_weight),
    with a shop that no link joins raised to the group of shops that links already join, when
    its pairs with that group's shops, taken together, are at the threshold: a cluster-level
    match. A ring's storefront that ships from another county of the ring's prefecture scores
    0.66-0.74 against each of the ring's shops (seed 51: three pairs), which one pair cannot
    tell from a stranger's shop of the same trade name; three such pairs can.

    The evidence of the pairs is summed but the part every pair of one stem shares (the prior,
    the stem and its frequency: `stem_weight`) is counted once, that of the strongest pair;
    every scored pair with the group counts, a weak one against. At least
    `cluster.min_pairs` of them must each be at `cluster.moderate` or above (one good pair and
    a crowd of weak ones is no ring). A shop that two groups would take goes to neither. The
    shop's strongest pair with the group is given the group's probability (the link applied;
    the rules of a link hold: one category, a trade name in common, never two USCCs, the
    steward's splits). A shop that joins a group is one of its shops for the next shop.

    Only a shop that shows no USCC joins this way (`usccs`: shop -> the USCC its listings
    show; a registered seller's shops are joined by it); a group whose shops show two USCCs is
    two businesses that resolution keeps apart (a franchise chain's registered branches): no
    shop joins it this way.

    Opened with the ring (`openings`: shop -> its opening date, when known): a keyless shop
    that opened within weeks of a keyless group that opened after the data began joins it,
    wherever it ships from (`_opened_with_the_ring`). A ring's storefront in another
    prefecture scores 0.03-0.14 against each of the ring's shops (another prefecture weighs
    -3.9 bits a pair), as a stranger's shop of the trade name there would; what tells it apart
    is that it opened in the same weeks as the ring's other storefronts, all of them new and
    none registered, where a franchise chain's branches and a business's shops opened over the
    years, mostly before the data began, and show their USCCs."""
    usccs = usccs or {}
    shop_pairs = pairs.filter(~pl.col("key_b").str.starts_with("uscc:"))
    linked = _linked_groups(shop_pairs.filter(pl.col("match_probability") >= config.threshold))
    registered: dict[str, set[str]] = {}
    for key, group in linked.items():
        if key in usccs:
            registered.setdefault(group, set()).add(usccs[key])
    groups = {k: g for k, g in linked.items() if len(registered.get(g, ())) <= 1}
    if not groups:
        return pairs
    sides = pl.concat(
        [
            shop_pairs.rename({"key_a": "shop", "key_b": "member"}),
            shop_pairs.rename({"key_b": "shop", "key_a": "member"}),
        ],
        how="diagonal",
    ).filter(~pl.col("shop").is_in([*linked, *usccs]))  # no link joins it yet, no USCC
    moderate = pl.col("match_probability") >= config.cluster.moderate
    rounds = []
    while True:  # a shop that joins a group is one of its shops for the next
        group_of = pl.DataFrame(
            {"member": list(groups), "group": list(groups.values())},
            schema={"member": pl.String, "group": pl.String},
        )
        found = (
            sides.filter(~pl.col("shop").is_in(list(groups)))
            .join(group_of, on="member")
            .sort(["match_probability", "member"], descending=[True, False])
            .group_by("shop", "group", maintain_order=True)
            .agg(
                pl.col("member").first().alias("strongest"),
                moderate.sum().alias("moderate_pairs"),
                (
                    pl.col("stem_weight").first()
                    + (pl.col("match_weight") - pl.col("stem_weight")).sum()
                ).alias("weight"),
            )
            .filter(pl.col("moderate_pairs") >= config.cluster.min_pairs)
            .with_columns(
                (1.0 / (1.0 + (2.0 ** -pl.col("weight").clip(-1000, 1000)))).alias("cluster_p")
            )
            .filter(pl.col("cluster_p") >= config.threshold)
            .filter(pl.col("shop").is_unique())  # two groups would take it: neither does
        )
        if found.is_empty():
            break
        rounds.append(found.with_columns(pl.lit(CLUSTER_RULE).alias("rule")))
        groups |= dict(found.select("shop", "group").iter_rows())
    if openings:
        keyless = {g for g in groups.values() if not registered.get(g)}
        opened = _opened_with_the_ring(sides, groups, keyless, openings, config)
        rounds.append(opened.with_columns(pl.lit(OPENED_RULE).alias("rule")))
    if not any(r.height for r in rounds):
        return pairs
    joined = pl.concat([r.select("shop", "strongest", "cluster_p", "rule") for r in rounds]).select(
        pl.min_horizontal("shop", "strongest").alias("key_a"),
        pl.max_horizontal("shop", "strongest").alias("key_b"),
        "cluster_p",
        "rule",
    )
    raised = pl.col("cluster_p").fill_null(0.0) > pl.col("match_probability")
    return (
        pairs.join(joined, on=["key_a", "key_b"], how="left")
        .with_columns(
            pl.when(raised).then(pl.col("rule")).alias("rule"),
            pl.max_horizontal("match_probability", pl.col("cluster_p").fill_null(0.0)).alias(
                "match_probability"
            ),
        )
        .drop("cluster_p")
    )


def score_shop_pairs(
    candidates: pl.DataFrame,
    config: ShopLinkConfig,
    at_least: float = 0.0,
    businesses: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every pair of shops of one main category, one of whose stems contains the other (equal
    or not; a shop whose stem is a brand has none), and every such pair of a shop and a
    registered business (`businesses`, keyed by USCC: `business_candidates`), whose match
    probability is at least `at_least`, with the evidence an inspector reads (the stems, the
    shared ship-from county, the category, the title similarity), in a fixed order. A shop
    that its pairs with a group of linked shops join to the group has its strongest pair raised
    to the group's probability (`with_cluster_evidence`). A shop linked to two registered
    businesses, or to another shop, has no business link (`_not_storefronts`)."""
    businesses = businesses if businesses is not None else pl.DataFrame(schema=BUSINESS_SCHEMA)
    if candidates.height + businesses.height < 2 or (NO_SHOP_NO_PAIR and candidates.is_empty()):
        return pl.DataFrame(schema=LINK_SCHEMA)
    table = _with_term_frequencies(candidates, businesses)
    con = scratch()
    con.register("candidates", table.to_arrow())
    # every scored pair: a weak pair weighs against a shop's cluster-level match
    params = weight_params(config) | {"at_least": 0.0}
    found = con.sql(pair_scores_sql(), params=params).pl()
    con.close()
    pairs = with_cluster_evidence(
        found.select(
            pl.min_horizontal("key_l", "key_r").alias("key_a"),
            pl.max_horizontal("key_l", "key_r").alias("key_b"),
            pl.col("match_probability").cast(pl.Float64),
            "match_weight",
            "stem_weight",
        ),
        config,
        usccs=dict(candidates.select("key", "seller_uscc").drop_nulls().iter_rows())
        if "seller_uscc" in candidates.columns
        else None,
        openings=dict(candidates.select("key", "opened_on").drop_nulls().iter_rows()),
    ).filter(pl.col("match_probability") >= at_least)
    if "rule" not in pairs.columns:  # no pair raised by a rule
        pairs = pairs.with_columns(pl.lit(None, pl.String).alias("rule"))
    not_storefronts = _not_storefronts(pairs, config.threshold)
    pairs = pairs.filter(
        ~(pl.col("key_b").str.starts_with("uscc:") & pl.col("key_a").is_in(not_storefronts))
    )
    if pairs.is_empty():
        return pl.DataFrame(schema=LINK_SCHEMA)
    facts = pl.concat(
        [
            candidates.select("key", "stem", "ship_from", "category", "shingles"),
            businesses.select("key", "stem", "ship_from", "category").with_columns(
                pl.lit(None, candidates.schema["shingles"]).alias("shingles")
            ),
        ]
    )
    a = facts.rename({c: f"{c}_a" for c in facts.columns}).rename({"key_a": "key_a"})
    b = facts.rename({c: f"{c}_b" for c in facts.columns})
    joined = pairs.join(a, on="key_a").join(b, on="key_b")
    shared = pl.col("shingles_a").list.set_intersection("shingles_b").list.len()
    union = pl.col("shingles_a").list.set_union("shingles_b").list.len()
    related = pl.col("stem_a").str.contains(pl.col("stem_b"), literal=True) | pl.col(
        "stem_b"
    ).str.contains(pl.col("stem_a"), literal=True)
    return (
        joined.filter(pl.col("category_a") == pl.col("category_b"))  # never two categories
        .filter(related.fill_null(False))  # a trade name in common: no link without one
        .select(
            "key_a",
            "key_b",
            "match_probability",
            pl.when(pl.col("stem_a").str.len_chars() <= pl.col("stem_b").str.len_chars())
            .then(pl.col("stem_a"))
            .otherwise(pl.col("stem_b"))
            .alias("stem"),
            pl.when(pl.col("ship_from_a") == pl.col("ship_from_b"))
            .then(pl.col("ship_from_a"))
            .alias("ship_from"),
            pl.col("category_a").alias("category"),
            (shared / pl.max_horizontal(union, pl.lit(1))).round(3).alias("title_similarity"),
            "rule",
        )
        .unique(["key_a", "key_b"])
        .sort(["key_a", "key_b"])
        .cast(LINK_SCHEMA)  # type: ignore[arg-type]
    )


def shop_link_edges(
    con: duckdb.DuckDBPyConnection, as_of: object, config: ShopLinkConfig | None = None
) -> pl.DataFrame:
    """Shop links at or above the configured threshold, strongest first, between the shops
    with listings up to `as_of`, and between such a shop and a registered business (business
    links: key_b a USCC key); also stored as core.shop_links."""
    config = config or load_config()
    candidates = refresh_shop_candidates(con, as_of)
    businesses = business_candidates(con, as_of, candidates)
    links = score_shop_pairs(
        candidates, config, at_least=config.threshold, businesses=businesses
    ).sort(["match_probability", "key_a", "key_b"], descending=[True, False, False])
    replace_table(con, "core.shop_links", links)
    return links


FLOOR = 1e-4  # an estimate of 0 would let one level veto every other: floored
# The share of a ring's pairs of shops whose stems differ altogether (a dressing that drops
# the trade name): a judgement, as no pair without a shared stem can be told from the data.
DIFFERENT_STEM_SHARE = 0.05
MIN_EM_PAIRS = 200  # fewer pairs of one stem level: its share of links is not estimated


def _pair_counts(candidates: pl.DataFrame) -> tuple[int, int, int]:
    """Pairs of shops of one main category: in all, with one stem, with one stem contained in
    the other."""
    total = same = contained = 0
    for _, group in candidates.group_by("category"):
        n = group.height
        total += n * (n - 1) // 2
        counts = group["stem"].drop_nulls().value_counts()
        values, sizes = counts["stem"].to_list(), counts["count"].to_list()
        same += sum(c * (c - 1) // 2 for c in sizes)
        for i, a in enumerate(values):
            for j in range(i + 1, len(values)):
                if a in values[j] or values[j] in a:
                    contained += sizes[i] * sizes[j]
    return total, same, contained


def _level_whens(column: str) -> list[tuple[str, str]]:
    """(condition, level) of a pair (columns `<c>_l`, `<c>_r`) on one comparison, in the model's
    order (the first that holds is the pair's level; none: `else`)."""
    whens = [(f"{column}_l is null or {column}_r is null", "null")]
    if column == "stem":
        whens.append(("stem_l = stem_r", "exact"))
    return whens + [(sql, key) for key, (sql, _) in LEVELS[column].items()]


def _level_sql(column: str) -> str:
    """The level of a pair (columns `<c>_l`, `<c>_r`) on one comparison, as the model has it."""
    whens = " ".join(
        f"when {condition} then '{level}'" for condition, level in _level_whens(column)
    )
    return f"case {whens} else 'else' end"


def within_category_u(
    candidates: pl.DataFrame, seed: int = 42, max_pairs: int = 1_000_000
) -> dict[str, dict[str, float]]:
    """u of every level: its share among a seeded random sample of pairs of shops of one main
    category (links are only made within one, so their u is what unrelated shops of one
    category share: titles and brands of the same goods, a common price pattern)."""
    con = duckdb.connect(":memory:")
    con.execute("set threads = 1")  # a repeatable sample
    con.register("c", candidates.select("key", "category", *LEVELS).to_arrow())
    sides = ", ".join(f"l.{c} as {c}_l, r.{c} as {c}_r" for c in LEVELS)
    con.execute(
        f"create table pairs as select * from (select {sides} from c l join c r"
        " on l.category = r.category and l.key < r.key)"
        f" using sample reservoir({int(max_pairs)} rows) repeatable ({int(seed)})"
    )
    u: dict[str, dict[str, float]] = {}
    for column in LEVELS:
        rows = con.execute(
            f"select level, count(*) from (select {_level_sql(column)} as level from pairs)"
            " where level <> 'null' group by level"
        ).fetchall()
        seen = sum(n for _, n in rows) or 1
        counts = dict(rows)
        u[column] = {k: max(FLOOR, counts.get(k, 0) / seen) for k in level_names(column)}
    return u


def estimate_shop_model(
    candidates: pl.DataFrame, config: ShopLinkConfig, seed: int = 42
) -> dict[str, Any]:
    """Prior and m/u probabilities estimated from the candidates alone, for review, in the
    layout of the config.

    u: `within_category_u` (seeded random pairs of one category). m of every comparison but
    the stem: expectation maximisation with u fixed, on the pairs of one stem and category, and
    on the pairs of one category whose stems contain one another (on pairs of one county and
    category instead, EM settles on shops that sell the same goods, not on operators). Each
    session also estimates the share of its pairs that are one operator's (lambda); the expected
    links of each stem level are lambda times its pairs, and with `DIFFERENT_STEM_SHARE` they
    give the stem's m and the prior (per pair of shops of one category). With fewer than
    `MIN_EM_PAIRS` pairs of contained stems (18 in a scale-1 world) their share is taken to be
    that of one stem. Probabilities are floored at `FLOOR`."""
    u = within_category_u(candidates, seed)
    start = ShopLinkConfig(
        threshold=config.threshold,
        prior=config.prior,
        comparisons={
            column: {k: MU(config.comparisons[column][k].m, u[column][k]) for k in levels}
            for column, levels in u.items()
        },
        cluster=config.cluster,
    )
    linker = _linker(_scratch(), candidates, start, trained=True)
    total, same, contained = _pair_counts(candidates)
    shares: list[float] = []
    for rule, pairs in ((block_on("stem", "category"), same), (STEM_CONTAINED, contained)):
        if pairs < MIN_EM_PAIRS and shares:
            shares.append(shares[0])  # too few pairs to estimate: as many links as above
            continue
        session = linker.training.estimate_parameters_using_expectation_maximisation(
            rule, fix_u_probabilities=True
        )
        shares.append(float(session.core_model_settings.probability_two_random_records_match))
    links_same, links_contained = shares[0] * same, shares[1] * contained
    links = (links_same + links_contained) / (1 - DIFFERENT_STEM_SHARE)
    model = linker.misc.save_model_to_json()
    comparisons: dict[str, dict[str, dict[str, float]]] = {}
    for comparison in model["comparisons"]:
        column = comparison["output_column_name"]
        scored = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        comparisons[column] = {
            key: {
                "m": round(max(FLOOR, float(lv.get("m_probability") or 0.0)), 6),
                "u": round(u[column][key], 6),
            }
            for key, lv in zip(level_names(column), scored, strict=True)
        }
    stem_m = {
        "exact": links_same / links,
        "contains": links_contained / links,
        "else": DIFFERENT_STEM_SHARE,
    }
    for level, m in stem_m.items():
        comparisons["stem"][level]["m"] = round(max(FLOOR, m), 6)
    return {
        "probability_two_random_records_match": links / total,
        "lambda": {"same_stem": shares[0], "stem_contained": shares[1]},
        "pairs": {"all": total, "same_stem": same, "stem_contained": contained},
        "comparisons": comparisons,
    }


# The steward's splits: pairs of shops that a shop link must never join again, kept across
# runs (ops: the warehouse's own records, never rebuilt by a run).
SPLITS_DDL = """
create schema if not exists ops;
create table if not exists ops.shop_link_splits (
    key_a VARCHAR, key_b VARCHAR, split_by VARCHAR, split_at TIMESTAMP, reason VARCHAR
)
"""


def shop_key(text: str) -> str:
    """`platform:shop_id` or `shop:platform:shop_id` as a shop key; `uscc:<code>` (a
    registered business of a business link) as it is."""
    text = text.strip()
    return text if text.startswith(("shop:", "uscc:")) else f"shop:{text}"


def shop_link_splits(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """(key_a, key_b) of every split the steward made (none before the first)."""
    if not has_table(con, "ops", "shop_link_splits"):
        return pl.DataFrame(schema={"key_a": pl.String, "key_b": pl.String})
    return con.sql("select distinct key_a, key_b from ops.shop_link_splits order by all").pl()


def split_shop_link(
    con: duckdb.DuckDBPyConnection, shop_a: str, shop_b: str, by: str, reason: str, at: object
) -> tuple[str, str]:
    """Record that shops a and b are not one operator: later runs never join them through a
    shop link, directly or through a third shop. Returns the pair as stored."""
    a, b = sorted((shop_key(shop_a), shop_key(shop_b)))
    if a == b:
        raise ValueError("a shop cannot be split from itself")
    con.execute(SPLITS_DDL)
    con.execute(
        "insert into ops.shop_link_splits select ?, ?, ?, ?, ? where not exists"
        " (select 1 from ops.shop_link_splits where key_a = ? and key_b = ?)",
        [a, b, by, at, reason, a, b],
    )
    return a, b


def shop_links_for_review(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The last run's shop links, strongest first, with the shop names, the lead (entity) that
    holds them and whether the steward split them."""
    if not has_table(con, "core", "shop_links"):
        return pl.DataFrame(schema={**LINK_SCHEMA, "entity_id": pl.String, "split": pl.Boolean})
    con.execute(SPLITS_DDL)
    query = """
        select l.key_a, a.shop_name as name_a, l.key_b, b.shop_name as name_b,
               round(l.match_probability, 4) as match_probability, l.stem, l.ship_from,
               l.category, l.title_similarity, e.entity_id,
               s.key_a is not null as split
        from core.shop_links l
        left join core.shop_candidates a on a.key = l.key_a
        left join (
            select key, shop_name from core.shop_candidates
            union all select key, shop_name from {businesses}
        ) b on b.key = l.key_b
        left join core.entity_keys e on e.key = l.key_a
        left join (select distinct key_a, key_b from ops.shop_link_splits) s
            on s.key_a = l.key_a and s.key_b = l.key_b
        order by l.match_probability desc, l.key_a, l.key_b
    """
    # a warehouse whose last run came before business links has no business candidates
    businesses = (
        "core.business_candidates"
        if has_table(con, "core", "business_candidates")
        else "(select null::varchar as key, null::varchar as shop_name)"
    )
    return con.sql(query.format(businesses=businesses)).pl()
