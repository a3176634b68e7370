"""Probabilistic matching of business and shop names written differently (Splink on DuckDB).

A complaint written by name only, or an inspection of a business without a USCC, carries
only a name key `name:<scope>:<normalised name>` (see `sql/core/record_keys.sql`). Exact
normalised names already link; this module finds the keys that name the same business
though they are spelt differently (`绿丰种业` / `绿峰种业` / `天信` / `天信动物保健`) and
returns soft edges (key_a, key_b, match_probability) that `resolve.link_keys` unions under
the same rules as exact names (never joining two USCCs, never joining two shops).

The candidates are the distinct name keys (`sql/core/name_candidates.sql`). Splink scores
pairs of keys of one scope (a prefecture, or a platform for shop names) whose names could
be one business (see `blocking_rules`), on the name, the numbers written in it, and the
product categories and counties of their records. DuckDB's string distances count UTF-8
bytes, not Chinese characters, so the name levels are SQL on whole characters. A
complainant who heard a trade name writes it with other characters of the same sound
(`隆泰` as `龙太`); the toneless pinyin readings of each character (pypinyin, `pinyin_keys`)
go beside the name, so that such names can be told from names one character apart.

The model's m/u probabilities are a reviewed configuration (`config/name_matching.yaml`),
not trained at run time: nightly runs are then byte-identical, and small test data score
like the province. `estimate_name_model` re-estimates them for review (u by seeded random
sampling, m from pairs confirmed as one business).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import duckdb
import polars as pl
from pydantic import ConfigDict

from data_contracts.config import STRICT_KEYS, ConfigFile, read_config
from transforms.warehouse import materialize, replace_table, scratch

# Splink and pypinyin (its phrase dictionary) take a second or more to import: they are
# imported where used (`flows.stages.import_in_background` loads them while files load).
if TYPE_CHECKING:
    from splink import DuckDBAPI, Linker, SettingsCreator
    from splink import comparison_library as cl
    from splink.internals.comparison_level_creator import ComparisonLevelCreator

CONFIG_PATH = Path(__file__).resolve().parent / "config" / "name_matching.yaml"

# The name levels, most specific first, as SQL on Splink's two sides (`_l`, `_r`) of a
# pair. `match_name` is the normalised name of the key (two keys of one scope never have
# the same); `start_peers` counts the names of the scope that start with the same two
# characters; `readings` holds the readings of each character of the name, `|`-joined
# (strings compare faster than nested lists: most characters of a pair are equal).
_CONTAINS = "(contains(match_name_l, match_name_r) or contains(match_name_r, match_name_l))"
_CHARS_DIFFERING = (
    "len(list_filter(list_zip(string_split(match_name_l, ''), string_split(match_name_r, '')),"
    " lambda p: p[1] <> p[2]))"
)
# Same length, and at every place the two characters share a reading: the differing ones
# (at least one, as the names differ) are homophones. Tones are not compared: a listener
# does not hear them reliably in a name, and sound-alike spellings often change them.
_SOUND_ALIKE = (
    "length(match_name_l) = length(match_name_r) and match_name_l <> match_name_r and"
    " len(list_filter(list_zip(readings_l, readings_r), lambda p: p[1] <> p[2]"
    " and not list_has_any(string_split(p[1], '|'), string_split(p[2], '|')))) = 0"
)


def name_levels(rare_start_peers: int) -> dict[str, tuple[str, str]]:
    """Level name -> (SQL condition, label) of the name comparison."""
    return {
        "contains_rare_start": (
            f"{_CONTAINS} and greatest(start_peers_l, start_peers_r) <= {int(rare_start_peers)}",
            "one name contains the other; few names start alike",
        ),
        "contains": (_CONTAINS, "one name contains the other"),
        "sound_alike": (_SOUND_ALIKE, "the differing characters sound alike"),
        "one_character": (
            f"length(match_name_l) = length(match_name_r) and {_CHARS_DIFFERING} = 1",
            "one character differs",
        ),
        "same_start": (
            "substr(match_name_l, 1, 2) = substr(match_name_r, 1, 2)",
            "same first two characters",
        ),
    }


NUMBER_LEVELS: dict[str, tuple[str, str]] = {"same": ("numbers_l = numbers_r", "same numbers")}


@cache
def char_readings(char: str) -> tuple[str, ...]:
    """Every toneless pinyin reading of one character, sorted (`长` -> ('chang', 'zhang')); a
    character without one (a digit, a Latin letter) is its own reading."""
    from pypinyin import Style, pinyin

    return tuple(sorted(set(pinyin(char, style=Style.NORMAL, heteronym=True)[0])))


def pinyin_keys(names: pl.Series) -> pl.DataFrame:
    """The pinyin key of each distinct name: `readings`, the readings of each character
    joined by `|` (`龙太` -> ['long', 'ta|tai']), compared by the `sound_alike` level; and
    `start_sounds`, every way to read the first two characters (`长隆` -> ['chang long',
    'zhang long']), on which sound-alike trade names are blocked."""
    distinct = pl.DataFrame({"match_name": names.unique(maintain_order=True)})
    chars = distinct.select(pl.col("match_name").str.split("").explode().unique().alias("char"))
    char_table = chars.with_columns(
        pl.Series(
            "char_readings",
            ["|".join(char_readings(c)) for c in chars["char"].to_list()],
            pl.String,
        )
    )
    keyed = (
        distinct.with_columns(pl.col("match_name").str.split("").alias("char"))
        .explode("char")
        .join(char_table, on="char", maintain_order="left")
        .group_by("match_name", maintain_order=True)
        .agg(pl.col("char_readings").alias("readings"))
    )
    starts = (
        keyed.select(
            "match_name",
            pl.col("readings").list.get(0).str.split("|").alias("first"),
            pl.col("readings").list.get(1, null_on_oob=True).str.split("|").alias("second"),
        )
        .explode("first")
        .explode("second")
        .group_by("match_name", maintain_order=True)
        .agg(
            pl.concat_str("first", "second", separator=" ", ignore_nulls=True).alias("start_sounds")
        )
    )
    return keyed.join(starts, on="match_name", maintain_order="left")


def with_readings(candidates: pl.DataFrame) -> pl.DataFrame:
    """The candidates with the pinyin keys of their names (see `pinyin_keys`)."""
    keys = pinyin_keys(candidates["match_name"])
    return candidates.join(keys, on="match_name", how="left", maintain_order="left")


@dataclass(frozen=True)
class MU:
    """m and u probabilities of one comparison level."""

    __pydantic_config__: ClassVar[ConfigDict] = STRICT_KEYS
    m: float
    u: float


@dataclass(frozen=True)
class NameMatchConfig:
    """Threshold and Fellegi-Sunter parameters of the name matcher."""

    threshold: float
    prior: float  # probability that two random candidates are one business
    rare_start_peers: int
    name: dict[str, MU]  # name_levels keys + "else"
    numbers: dict[str, MU]  # NUMBER_LEVELS keys + "else"
    categories: dict[str, MU]  # "shared", "else"
    counties: dict[str, MU]  # "shared", "else"


class ComparisonsFile(ConfigFile):
    name: dict[str, MU]
    numbers: dict[str, MU]
    categories: dict[str, MU]
    counties: dict[str, MU]


class NameMatchingFile(ConfigFile):
    """transforms/config/name_matching.yaml."""

    threshold: float
    probability_two_random_records_match: float
    rare_start_peers: int
    comparisons: ComparisonsFile


def load_config(path: Path | None = None) -> NameMatchConfig:
    """The name matcher's settings from transforms/config/name_matching.yaml (or `path`)."""
    raw = read_config(path or CONFIG_PATH, NameMatchingFile)

    def levels(section: dict[str, dict[str, float]]) -> dict[str, MU]:
        return {k: MU(float(v["m"]), float(v["u"])) for k, v in section.items()}

    comparisons = raw["comparisons"]
    return NameMatchConfig(
        threshold=float(raw["threshold"]),
        prior=float(raw["probability_two_random_records_match"]),
        rare_start_peers=int(raw["rare_start_peers"]),
        name=levels(comparisons["name"]),
        numbers=levels(comparisons["numbers"]),
        categories=levels(comparisons["categories"]),
        counties=levels(comparisons["counties"]),
    )


def _custom(
    column: str, levels: dict[str, ComparisonLevelCreator], params: dict[str, MU] | None
) -> cl.CustomComparison:
    """A comparison of `column`: a null level, then `levels` (by their config name, most
    specific first, the last being `else`), with their m/u from `params` when given."""
    from splink import comparison_level_library as cll
    from splink import comparison_library as cl

    if params is not None:
        for key, level in levels.items():
            level.configure(m_probability=params[key].m, u_probability=params[key].u)
    creators: list[ComparisonLevelCreator | dict[str, Any]] = [cll.NullLevel(column)]
    creators += levels.values()
    return cl.CustomComparison(creators, output_column_name=column)


def _sql_levels(levels: dict[str, tuple[str, str]]) -> dict[str, ComparisonLevelCreator]:
    """SQL levels (condition, label) followed by the else level."""
    from splink import comparison_level_library as cll

    made: dict[str, ComparisonLevelCreator] = {
        key: cll.CustomLevel(sql, label_for_charts=label) for key, (sql, label) in levels.items()
    }
    return made | {"else": cll.ElseLevel()}


def _shared_levels(column: str) -> dict[str, ComparisonLevelCreator]:
    """Arrays sharing at least one element (a category, a county), else not."""
    from splink import comparison_level_library as cll

    return {"shared": cll.ArrayIntersectLevel(column, min_intersection=1), "else": cll.ElseLevel()}


def blocking_rules() -> list[Any]:
    """Pairs to score, all within one scope: names that start with the same two characters
    (a trade name and its longer forms), names that differ at most in their first or in
    their second character (one character of the trade name written differently), and
    names of one length whose first two characters sound alike (a sound-alike written for
    the whole trade name). Every pair that can reach a name level above `else` is among
    them, except a name contained in the middle of another."""
    from splink import block_on

    return [
        block_on("scope", "substr(match_name, 1, 2)"),
        block_on("scope", "substr(match_name, 2)"),
        block_on("scope", "substr(match_name, 1, 1)", "substr(match_name, 3)"),
        block_on("scope", "length(match_name)", "start_sounds", arrays_to_explode=["start_sounds"]),
    ]


def name_match_settings(config: NameMatchConfig, trained: bool = True) -> SettingsCreator:
    """Splink settings; with `trained` False the m/u are left for estimation."""
    from splink import SettingsCreator

    levels = name_levels(config.rare_start_peers)
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="key",
        probability_two_random_records_match=config.prior,
        comparisons=[
            _custom("match_name", _sql_levels(levels), config.name if trained else None),
            _custom("numbers", _sql_levels(NUMBER_LEVELS), config.numbers if trained else None),
            _custom(
                "categories",
                _shared_levels("categories"),
                config.categories if trained else None,
            ),
            _custom("counties", _shared_levels("counties"), config.counties if trained else None),
        ],
        blocking_rules_to_generate_predictions=blocking_rules(),
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
    )


def _linker(
    db_api: DuckDBAPI, candidates: pl.DataFrame, config: NameMatchConfig, trained: bool = True
) -> Linker:
    """A linker over the candidates (with their pinyin keys), registered in `db_api`."""
    from splink import Linker

    table = db_api.register(with_readings(candidates).to_arrow(), table_name="name_candidates")
    return Linker(table, name_match_settings(config, trained), log_level=None)


def _scratch() -> DuckDBAPI:
    """Splink's own in-memory DuckDB, so that its working tables stay out of the warehouse."""
    from splink import DuckDBAPI

    return DuckDBAPI(scratch())


def refresh_name_candidates(con: duckdb.DuckDBPyConnection, as_of: object) -> pl.DataFrame:
    """Build core.name_candidates from core.record_keys (built for the same `as_of`)."""
    materialize(con, "core.name_candidates", "core/name_candidates.sql", {"as_of": as_of})
    return con.sql("select * from core.name_candidates order by key").pl()


EDGE_SCHEMA = {"key_a": pl.String, "key_b": pl.String, "match_probability": pl.Float64}


def score_name_pairs(
    candidates: pl.DataFrame, config: NameMatchConfig, at_least: float = 0.0
) -> pl.DataFrame:
    """Every blocked pair of candidates whose match probability is at least `at_least`, with
    that probability, in a fixed order."""
    if candidates.height < 2:
        return pl.DataFrame(schema=EDGE_SCHEMA)
    # Splink drops the pairs far below the threshold in its own SQL (most blocked pairs, so
    # they are never sorted here); it compares match weights, so it is given half the
    # threshold, and the exact comparison is made below.
    below = at_least / 2 if at_least > 0 else None
    linker = _linker(_scratch(), candidates, config)
    predictions = linker.inference.predict(threshold_match_probability=below)
    pairs = pl.from_arrow(predictions.as_pyarrow_table())
    assert isinstance(pairs, pl.DataFrame)
    return (
        pairs.select(
            pl.min_horizontal("key_l", "key_r").alias("key_a"),
            pl.max_horizontal("key_l", "key_r").alias("key_b"),
            pl.col("match_probability").cast(pl.Float64),
        )
        .filter(pl.col("match_probability") >= at_least)
        .unique(["key_a", "key_b"])
        .sort(["key_a", "key_b"])
    )


def name_match_edges(
    con: duckdb.DuckDBPyConnection, as_of: object, config: NameMatchConfig | None = None
) -> pl.DataFrame:
    """Soft edges (key_a, key_b, match_probability) at or above the configured threshold,
    strongest first, between the name keys of core.record_keys (built for `as_of`); also
    stored as core.name_matches."""
    config = config or load_config()
    candidates = refresh_name_candidates(con, as_of)
    edges = score_name_pairs(candidates, config, at_least=config.threshold).sort(
        ["match_probability", "key_a", "key_b"], descending=[True, False, False]
    )
    replace_table(con, "core.name_matches", edges)
    return edges


def name_match_edges_by_day(
    candidates: dict[Any, pl.DataFrame], config: NameMatchConfig | None = None
) -> dict[Any, pl.DataFrame]:
    """The edges `name_match_edges` finds for each day's candidates (core.name_candidates as
    of that day), all scored in one Splink pass instead of one per day (building a linker
    costs more than scoring a day's pairs). Each distinct candidate row is scored once,
    however many days hold it (the province's 14 training days: 230,761 rows, 36,211
    distinct): rows get ids that sort as their keys do (`_row_ids`), so each pair has the
    sides it has in a day's pass, and a day's edges are the scored pairs of two rows it
    holds. A pair's probability depends on its two rows alone (the m/u are configured, there
    is no term-frequency adjustment), so a day's edges are exactly those of a pass of its
    own."""
    config = config or load_config()
    days = sorted(candidates)
    held = pl.concat(
        [
            candidates[day].with_columns(pl.lit(i, pl.Int64).alias("_day"))
            for i, day in enumerate(days)
        ]
    )
    columns = [c for c in held.columns if c != "_day"]
    rows = _row_ids(held.select(columns).unique(maintain_order=True))
    held = held.join(
        rows.select(*columns, "_id"), on=columns, nulls_equal=True, maintain_order="left"
    ).select("_id", "_day")
    scored = score_name_pairs(
        rows.with_columns(pl.col("_id").alias("key")).drop("_id"), config, config.threshold
    )
    key_of = rows.select("_id", "key")
    pairs = (
        scored.join(held.rename({"_id": "key_a"}), on="key_a")
        .join(held.rename({"_id": "key_b"}), on=["key_b", "_day"])
        .join(key_of.rename({"_id": "key_a", "key": "name_a"}), on="key_a")
        .join(key_of.rename({"_id": "key_b", "key": "name_b"}), on="key_b")
        .select(
            pl.col("name_a").alias("key_a"),
            pl.col("name_b").alias("key_b"),
            "match_probability",
            "_day",
        )
    )
    edges = {}
    for i, day in enumerate(days):
        one = pairs.filter(pl.col("_day") == i).drop("_day")
        edges[day] = one.sort(["key_a", "key_b"]).sort(
            ["match_probability", "key_a", "key_b"], descending=[True, False, False]
        )
    return edges


def _row_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """The distinct candidate rows of many days with `_id`: the rank of the row's key among
    all keys, zero-padded, and the row's number among the rows of its key, so that two rows
    of different keys compare as their keys do (the sides of a pair in Splink's dedupe)."""
    ranks = rows.select(pl.col("key").unique().sort()).with_row_index("_rank")
    number = pl.int_range(pl.len()).over("key")
    return rows.join(ranks, on="key", maintain_order="left").select(
        pl.all().exclude("_rank"),
        pl.format("{}|{}", pl.col("_rank").cast(pl.String).str.zfill(10), number).alias("_id"),
    )


def estimate_name_model(
    candidates: pl.DataFrame, matches: pl.DataFrame, config: NameMatchConfig, seed: int = 42
) -> dict[str, dict[str, dict[str, float]]]:
    """m/u probabilities re-estimated for review, in the layout of the config's
    `comparisons`: u from a seeded random sample of candidate pairs, m from `matches`
    (key_l, key_r: pairs a steward confirmed as one business). Unsupervised expectation
    maximisation is not used: on names alone it settles on counties, not businesses."""
    db_api = _scratch()
    linker = _linker(db_api, candidates, config, trained=False)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=seed)
    labels = db_api.register(
        matches.select(
            pl.lit("name_candidates").alias("source_dataset_l"),
            "key_l",
            pl.lit("name_candidates").alias("source_dataset_r"),
            "key_r",
        ).to_arrow(),
        table_name="confirmed_matches",
    )
    linker.training.estimate_m_from_pairwise_labels(labels)
    model = linker.misc.save_model_to_json()
    levels = [*name_levels(config.rare_start_peers), "else"]
    names = {
        "match_name": ("name", levels),
        "numbers": ("numbers", [*NUMBER_LEVELS, "else"]),
        "categories": ("categories", ["shared", "else"]),
        "counties": ("counties", ["shared", "else"]),
    }
    estimated: dict[str, dict[str, dict[str, float]]] = {}
    for comparison in model["comparisons"]:
        section, keys = names[comparison["output_column_name"]]
        scored = [lv for lv in comparison["comparison_levels"] if not lv.get("is_null_level")]
        estimated[section] = {
            key: {"m": lv.get("m_probability", 0.0), "u": lv.get("u_probability", 0.0)}
            for key, lv in zip(keys, scored, strict=True)
        }
    return estimated
