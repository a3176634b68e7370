"""Entity resolution: link records that share a key into one real-world operator.

Keys come from `sql/core/record_keys.sql`. Records are linked through shared USCCs,
`platform:shop_id` and contact hashes; normalised names link too, but never join two
groups that already carry different USCCs (two registered businesses with the same
trade name are two businesses). A contact hash shared by very many shops is a
logistics or platform address, not an operator, and is not used for linking.

The entity id is a function of the entity's best key (its smallest USCC, else its
smallest shop key, …), so the same operator keeps its id in every run while it
keeps that key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.names import normalize_name
from transforms.warehouse import materialize, replace_table, scalar

KEY_PRIORITY = {"uscc": 0, "shop": 1, "contact": 2, "name": 3}


@dataclass(frozen=True)
class ResolveConfig:
    max_shops_per_contact: int = 12  # above this a contact hash is a shared address


class UnionFind:
    """Disjoint sets over string keys, remembering the USCCs each set holds."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.usccs: dict[str, frozenset[str]] = {}

    def add(self, key: str) -> None:
        if key not in self.parent:
            self.parent[key] = key
            self.usccs[key] = frozenset([key]) if key.startswith("uscc:") else frozenset()

    def find(self, key: str) -> str:
        root = key
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[key] != root:
            self.parent[key], key = root, self.parent[key]
        return root

    def union(self, a: str, b: str, respect_usccs: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        ua, ub = self.usccs[ra], self.usccs[rb]
        if respect_usccs and ua and ub and ua != ub:
            return False
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.usccs[ra] = ua | ub
        return True


def entity_id_for(keys: list[str]) -> str:
    """A stable id from the entity's best key."""
    anchor = min(keys, key=lambda k: (KEY_PRIORITY[k.split(":", 1)[0]], k))
    return "CR-" + hashlib.sha1(anchor.encode("utf-8")).hexdigest()[:12].upper()


def refresh_normalized_names(con: duckdb.DuckDBPyConnection) -> None:
    """core.normalized_names: every business name seen, with its normalised form."""
    names = con.sql(
        """
        select distinct name from (
            select subject_name as name from staging.complaints
            union all select entity_name from staging.inspections
            union all select entity_name from staging.credit
            union all select entity_name from staging.outcomes
            union all select name from staging.entities
        ) where name is not null
        """
    ).fetchall()
    frame = pl.DataFrame(
        {"name": [n for (n,) in names], "norm": [normalize_name(n) for (n,) in names]},
        schema={"name": pl.String, "norm": pl.String},
    ).filter(pl.col("norm").is_not_null())
    replace_table(con, "core.normalized_names", frame)


def link_keys(record_keys: pl.DataFrame, config: ResolveConfig) -> pl.DataFrame:
    """key → entity_id for every key, from (feed, record_id, key, rank, key_kind) rows."""
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
    # Hard keys first, then names under the USCC constraint, each in a fixed order.
    hard = edges.filter(pl.col("key_kind") != "name").filter(
        ~pl.col("anchor").str.starts_with("name:")
    )
    soft = edges.filter((pl.col("key_kind") == "name") | pl.col("anchor").str.starts_with("name:"))
    for a, b in sorted(set(hard.select("anchor", "key").iter_rows())):
        uf.union(a, b, respect_usccs=False)
    for a, b in sorted(set(soft.select("anchor", "key").iter_rows())):
        uf.union(a, b, respect_usccs=True)
    members: dict[str, list[str]] = {}
    for key in uf.parent:
        members.setdefault(uf.find(key), []).append(key)
    rows = [(k, entity_id_for(keys)) for keys in members.values() for k in keys]
    return pl.DataFrame(rows, schema={"key": pl.String, "entity_id": pl.String}, orient="row")


def resolve_entities(
    con: duckdb.DuckDBPyConnection, as_of: object, config: ResolveConfig | None = None
) -> int:
    """Build core.record_keys, core.entity_keys and core.record_entities; returns the entity count."""
    config = config or ResolveConfig()
    refresh_normalized_names(con)
    materialize(con, "core.record_keys", "core/record_keys.sql", {"as_of": as_of})
    record_keys = con.sql("select * from core.record_keys").pl()
    entity_keys = link_keys(record_keys, config)
    replace_table(con, "core.entity_keys", entity_keys)
    materialize(con, "core.record_entities", "core/record_entities.sql")
    return int(scalar(con, "select count(distinct entity_id) from core.entity_keys"))
