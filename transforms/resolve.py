"""Entity resolution: link records that share a key into one real-world operator.

Keys come from `sql/core/record_keys.sql`. Records are linked through shared USCCs,
`platform:shop_id` and contact hashes (hard keys); normalised names link too, and so do
names that the probabilistic matcher (`splink_match.py`) finds to be one business spelt
differently. Names are soft: they never join two groups that already carry different
USCCs (two registered businesses with the same trade name are two businesses), nor two
groups that each hold a shop (two shops are only one operator through a hard key). A
contact hash shared by very many shops is a logistics or platform address, not an
operator, and is not used for linking.

The entity id is a function of the entity's best key (its smallest USCC, else its
smallest shop key, …), so the same operator keeps its id in every run while it
keeps that key.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from itertools import combinations

import duckdb
import polars as pl

from data_contracts.contract import platforms
from transforms.names import normalize_name
from transforms.splink_match import EDGE_SCHEMA, name_match_edges
from transforms.warehouse import materialize, replace_table, scalar

KEY_PRIORITY = {"uscc": 0, "shop": 1, "contact": 2, "name": 3}


@dataclass(frozen=True)
class ResolveConfig:
    max_shops_per_contact: int = 12  # above this a contact hash is a shared address
    match_names: bool = True  # link differently spelt names (transforms/splink_match.py)


class UnionFind:
    """Disjoint sets over string keys, remembering the USCCs and whether a shop each set holds."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.usccs: dict[str, frozenset[str]] = {}
        self.has_shop: dict[str, bool] = {}

    def add(self, key: str) -> None:
        if key not in self.parent:
            self.parent[key] = key
            self.usccs[key] = frozenset([key]) if key.startswith("uscc:") else frozenset()
            self.has_shop[key] = key.startswith("shop:")

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def anchored(self, key: str) -> bool:
        """Whether the set of `key` holds a USCC or a shop."""
        root = self.find(key)
        return bool(self.usccs[root]) or self.has_shop[root]

    def may_join(self, a: str, b: str) -> bool:
        """Whether a soft (name) link may join the sets of a and b: not two USCCs, not two shops."""
        ra, rb = self.find(a), self.find(b)
        ua, ub = self.usccs[ra], self.usccs[rb]
        return ra == rb or not (
            (ua and ub and ua != ub) or (self.has_shop[ra] and self.has_shop[rb])
        )

    def union(self, a: str, b: str, soft: bool) -> bool:
        """Join the sets of a and b; a soft link only where `may_join`."""
        if soft and not self.may_join(a, b):
            return False
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.usccs[ra] = self.usccs[ra] | self.usccs[rb]
        self.has_shop[ra] = self.has_shop[ra] or self.has_shop[rb]
        return True


def entity_id_for(keys: list[str]) -> str:
    """A stable id from the entity's best key."""
    anchor = min(keys, key=lambda k: (KEY_PRIORITY[k.split(":", 1)[0]], k))
    return "CR-" + hashlib.sha1(anchor.encode("utf-8")).hexdigest()[:12].upper()


_BRACKETED = re.compile(r"[(\[【〔{<《「『][^)\]】〕}>》」』]*[)\]】〕}>》」』]")


@cache
def _platform_words() -> tuple[str, ...]:
    words = {
        w for row in platforms().values() for w in (row["name_zh"], *row["aliases"].split(";"))
    }
    folded = {unicodedata.normalize("NFKC", w).lower() for w in words if w}
    return tuple(sorted(folded, key=len, reverse=True))


def key_name(name: str | None) -> str | None:
    """The normalised name that goes into a name key: a bracketed note such as `（快手）` or
    `（城中）` and a leading `淘宝上的` / `淘宝店铺` are dropped before `normalize_name`."""
    if not name:
        return None
    text = _BRACKETED.sub("", unicodedata.normalize("NFKC", name).lower()).strip()
    for word in _platform_words():
        lead = next(
            (f"{word}{w}" for w in ("上的", "店铺", "上") if text.startswith(f"{word}{w}")), None
        )
        if lead and len(text) > len(lead):
            text = text[len(lead) :]
            break
    return normalize_name(text) or normalize_name(name)


def refresh_normalized_names(con: duckdb.DuckDBPyConnection) -> None:
    """core.normalized_names: every business and shop name seen, with its key name."""
    names = con.sql(
        """
        select distinct name from (
            select subject_name as name from staging.complaints
            union all select entity_name from staging.inspections
            union all select entity_name from staging.credit
            union all select entity_name from staging.outcomes
            union all select name from staging.entities
            union all select shop_name from staging.listings
        ) where name is not null
        order by name
        """
    ).fetchall()
    frame = pl.DataFrame(
        {"name": [n for (n,) in names], "norm": [key_name(n) for (n,) in names]},
        schema={"name": pl.String, "norm": pl.String},
    ).filter(pl.col("norm").is_not_null())
    replace_table(con, "core.normalized_names", frame)


def unambiguous_matches(name_matches: pl.DataFrame, uf: UnionFind) -> list[tuple[str, str]]:
    """The matched name pairs strongest first, less every pair of a name that belongs to no
    business yet and matches two that cannot be one (`天信` beside 天信动物保健 and 天信商贸,
    each registered): such a name is left on its own rather than given to either."""
    ordered = name_matches.filter(
        pl.col("key_a").is_in(list(uf.parent)) & pl.col("key_b").is_in(list(uf.parent))
    ).sort(["match_probability", "key_a", "key_b"], descending=[True, False, False])
    pairs = list(ordered.select("key_a", "key_b").iter_rows())
    partners: dict[str, set[str]] = {}
    for a, b in pairs:
        partners.setdefault(a, set()).add(uf.find(b))
        partners.setdefault(b, set()).add(uf.find(a))
    ambiguous = {
        key
        for key, roots in partners.items()
        if not uf.anchored(key)
        and any(not uf.may_join(r, s) for r, s in combinations(sorted(roots), 2))
    }
    return [(a, b) for a, b in pairs if a not in ambiguous and b not in ambiguous]


def link_keys(
    record_keys: pl.DataFrame, config: ResolveConfig, name_matches: pl.DataFrame | None = None
) -> pl.DataFrame:
    """key → entity_id for every key, from (feed, record_id, key, rank, key_kind) rows and
    the matched names (key_a, key_b, match_probability) of `splink_match.name_match_edges`."""
    shops_per_contact = (
        record_keys.filter(pl.col("key_kind") == "contact")
        .group_by("key")
        .agg(pl.col("record_id").n_unique().alias("shops"))
    )
    shared = set(
        shops_per_contact.filter(pl.col("shops") > config.max_shops_per_contact)["key"].to_list()
    )
    usable = record_keys.filter(~pl.col("key").is_in(list(shared)))
    anchors = (
        usable.sort(["feed", "record_id", "rank", "key"])
        .group_by(["feed", "record_id"], maintain_order=True)
        .agg(pl.col("key").first().alias("anchor"))
    )
    edges = usable.join(anchors, on=["feed", "record_id"]).select("anchor", "key", "key_kind")
    uf = UnionFind()
    for key in sorted(set(usable["key"].to_list())):
        uf.add(key)
    # Hard keys first, then exact names, then matched names strongest first, each in a
    # fixed order; names under the USCC and shop constraints.
    hard = edges.filter(pl.col("key_kind") != "name").filter(
        ~pl.col("anchor").str.starts_with("name:")
    )
    soft = edges.filter((pl.col("key_kind") == "name") | pl.col("anchor").str.starts_with("name:"))
    for a, b in sorted(set(hard.select("anchor", "key").iter_rows())):
        uf.union(a, b, soft=False)
    for a, b in sorted(set(soft.select("anchor", "key").iter_rows())):
        uf.union(a, b, soft=True)
    if name_matches is not None:
        for a, b in unambiguous_matches(name_matches, uf):
            uf.union(a, b, soft=True)
    members: dict[str, list[str]] = {}
    for key in uf.parent:
        members.setdefault(uf.find(key), []).append(key)
    rows = [(k, entity_id_for(keys)) for keys in members.values() for k in keys]
    return pl.DataFrame(rows, schema={"key": pl.String, "entity_id": pl.String}, orient="row")


def resolve_entities(
    con: duckdb.DuckDBPyConnection, as_of: object, config: ResolveConfig | None = None
) -> int:
    """Build core.record_keys, core.name_matches, core.entity_keys and core.record_entities;
    returns the entity count."""
    config = config or ResolveConfig()
    refresh_normalized_names(con)
    materialize(con, "core.record_keys", "core/record_keys.sql", {"as_of": as_of})
    record_keys = con.sql("select * from core.record_keys").pl()
    name_matches = name_match_edges(con, as_of) if config.match_names else None
    if name_matches is None:
        replace_table(con, "core.name_matches", pl.DataFrame(schema=EDGE_SCHEMA))
    entity_keys = link_keys(record_keys, config, name_matches)
    replace_table(con, "core.entity_keys", entity_keys)
    materialize(con, "core.record_entities", "core/record_entities.sql")
    return int(scalar(con, "select count(distinct entity_id) from core.entity_keys"))
