"""Entity resolution: link records that share a key into one real-world operator.

Keys come from `sql/core/record_keys.sql`. Records are linked through shared USCCs,
`platform:shop_id` and contact hashes (hard keys); normalised names link too, and so do
names that the probabilistic matcher (`splink_match.py`) finds to be one business spelt
differently. Names are soft: they never join two groups that already carry different
USCCs (two registered businesses with the same trade name are two businesses), nor two
groups that each hold a shop (two shops are only one operator through a hard key). A
contact hash shared by very many shops is a logistics or platform address, not an
operator, and is not used for linking.

The entity id is a function of the entity's anchor key: of its hard keys (USCC, shop,
contact) the one seen first (the earliest record date that carries it; the undated register
counts last), ties broken by kind (USCC, shop, contact) and then by the key; an entity with
names only is anchored on its first-seen name the same way. A key the entity gains later
was seen later, so the same operator keeps its id in every run while it keeps its keys;
two entities that merge keep the id of the one seen first.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import combinations
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

import transforms.names
from data_contracts.contract import REFERENCE_DIR
from transforms.names import BRACKETED_NOTE, DIVISIONS_SOURCE, normalize_name, platform_words
from transforms.shop_linkage import LINK_SCHEMA, ShopLinkConfig, shop_link_edges, shop_link_splits
from transforms.splink_match import EDGE_SCHEMA, name_match_edges
from transforms.warehouse import has_table, materialize, replace_table, scalar, sql_file

KEY_PRIORITY = {"uscc": 0, "shop": 1, "contact": 2, "name": 3}


@dataclass(frozen=True)
class ResolveConfig:
    max_shops_per_contact: int = 12  # above this a contact hash is a shared address
    match_names: bool = True  # link differently spelt names (transforms/splink_match.py)
    link_shops: bool = True  # link storefronts on soft evidence (transforms/shop_linkage.py)


NO_USCCS: frozenset[str] = frozenset()


class UnionFind:
    """Disjoint sets over string keys, remembering the USCCs and whether a shop each set holds
    (by root; a root that is in neither dict holds none)."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.usccs: dict[str, frozenset[str]] = {}
        self.has_shop: dict[str, bool] = {}
        # Every key of the sets, when `parent` holds only the keys the links name and their
        # roots (`_linked_at_once`); None: `parent` holds them all.
        self.universe: pl.Series | None = None

    def known(self) -> pl.Series | list[str]:
        """Every key of the sets."""
        return list(self.parent) if self.universe is None else self.universe

    @classmethod
    def from_components(
        cls, key_roots: pl.DataFrame, usccs: dict[str, frozenset[str]], shop_roots: set[str]
    ) -> UnionFind:
        """The sets of (key, root) rows, each root its set's smallest key, as the unions that
        made them would have left them; `usccs` and `shop_roots` describe the roots' sets."""
        uf = cls()
        uf.parent = dict(zip(key_roots["key"].to_list(), key_roots["root"].to_list(), strict=True))
        uf.usccs = usccs
        uf.has_shop = dict.fromkeys(shop_roots, True)
        return uf

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
        return bool(self.usccs.get(root)) or self.has_shop.get(root, False)

    def may_join(self, a: str, b: str) -> bool:
        """Whether a soft (name) link may join the sets of a and b: not two USCCs, not two shops."""
        ra, rb = self.find(a), self.find(b)
        ua, ub = self.usccs.get(ra, NO_USCCS), self.usccs.get(rb, NO_USCCS)
        return ra == rb or not (
            (ua and ub and ua != ub)
            or (self.has_shop.get(ra, False) and self.has_shop.get(rb, False))
        )

    def may_link_shops(self, a: str, b: str) -> bool:
        """Whether a shop link may join the sets of a and b: not two USCCs (two shops may)."""
        ra, rb = self.find(a), self.find(b)
        ua, ub = self.usccs.get(ra, NO_USCCS), self.usccs.get(rb, NO_USCCS)
        return ra == rb or not (ua and ub and ua != ub)

    def union(self, a: str, b: str, soft: bool) -> bool:
        """Join the sets of a and b; a soft link only where `may_join`."""
        if soft and not self.may_join(a, b):
            return False
        return self._join(a, b)

    def _join(self, a: str, b: str) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if rb < ra:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.usccs[ra] = self.usccs.get(ra, NO_USCCS) | self.usccs.get(rb, NO_USCCS)
        self.has_shop[ra] = self.has_shop.get(ra, False) or self.has_shop.get(rb, False)
        return True


def apply_shop_links(
    uf: UnionFind, shop_links: pl.DataFrame, splits: pl.DataFrame | None = None
) -> list[tuple[str, str]]:
    """Join the sets of the linked shops (key_a, key_b, match_probability), strongest first,
    never two USCCs, and never two shops that a steward split (key_a, key_b of `splits`), also
    not through a third shop; returns the links applied."""
    known = uf.known()
    both_known = pl.col("key_a").is_in(known) & pl.col("key_b").is_in(known)
    apart = (
        []
        if splits is None
        else list(splits.filter(both_known).select("key_a", "key_b").iter_rows())
    )
    ordered = shop_links.filter(both_known).sort(
        ["match_probability", "key_a", "key_b"], descending=[True, False, False]
    )
    applied = []
    for a, b in ordered.select("key_a", "key_b").iter_rows():
        if not uf.may_link_shops(a, b):
            continue
        ra, rb = uf.find(a), uf.find(b)
        if ra != rb and any({uf.find(x), uf.find(y)} == {ra, rb} for x, y in apart):
            continue
        uf._join(a, b)
        applied.append((a, b))
    return applied


def _kind(key: str) -> str:
    return key.split(":", 1)[0]


def entity_id_for(keys: list[str], seen_on: Mapping[str, date | None] | None = None) -> str:
    """The id of an entity with these keys, from its anchor: the first-seen hard key (a
    name only when it has none), `seen_on` giving each key's first record date (missing or
    None = undated, after every date); ties by kind, then by key."""
    seen = seen_on or {}

    def order(k: str) -> tuple[bool, bool, date, int, str]:
        first = seen.get(k)
        return (
            _kind(k) == "name",
            first is None,
            first or date.max,
            KEY_PRIORITY[_kind(k)],
            k,
        )

    return anchor_id(min(keys, key=order))


def anchor_id(anchor: str) -> str:
    """The entity id of an entity whose best key is `anchor`."""
    return "CR-" + hashlib.sha1(anchor.encode("utf-8")).hexdigest()[:12].upper()


def key_name(name: str | None) -> str | None:
    """The normalised name that goes into a name key: a bracketed note such as `（快手）` or
    `（城中）` and a leading `淘宝上的` / `淘宝店铺` are dropped before `normalize_name`."""
    if not name:
        return None
    text = BRACKETED_NOTE.sub("", unicodedata.normalize("NFKC", name).lower()).strip()
    for word in platform_words():
        if not text.startswith(word):
            continue
        lead = next(
            (f"{word}{w}" for w in ("上的", "店铺", "上") if text.startswith(f"{word}{w}")), None
        )
        if lead and len(text) > len(lead):
            text = text[len(lead) :]
            break
    return normalize_name(text) or normalize_name(name)


# Everything key_name's result depends on: its code and the reference tables it reads.
NAME_RULE_SOURCES = (
    Path(transforms.names.__file__),
    Path(__file__),
    Path(DIVISIONS_SOURCE),
    REFERENCE_DIR / "regions.csv",
    REFERENCE_DIR / "platforms.csv",
)


@cache
def name_rules_digest() -> str:
    """A digest of the sources of the name rules: key names computed under another digest
    are computed again."""
    digest = hashlib.sha256()
    for path in NAME_RULE_SOURCES:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def seen_names_sql() -> str:
    """Every business and shop name of every accepted delivery (the histories, not the
    versions in force: a superset that is cheaper to read, and only looked up by name)."""
    return sql_file("resolve/seen_names.sql")


def _known_key_names(con: duckdb.DuckDBPyConnection, rules: str) -> pl.DataFrame:
    """The key names of core.key_name_cache computed under `rules` (none before a first
    refresh)."""
    con.execute(
        "create table if not exists core.key_name_cache (name VARCHAR, norm VARCHAR, rules VARCHAR)"
    )
    query = "select name, norm from core.key_name_cache where rules = ?"
    return con.sql(query, params=[rules]).pl()


def refresh_normalized_names(con: duckdb.DuckDBPyConnection) -> None:
    """core.normalized_names: every business and shop name seen, with its key name.

    Key names are kept in core.key_name_cache (with the names that have none) under the
    rules that computed them (`name_rules_digest`), so a nightly run normalises only the
    names it has not seen before, and model training, which resolves entities as of many
    days, normalises none.
    """
    rules = name_rules_digest()
    known = _known_key_names(con, rules)
    seen = con.sql(seen_names_sql()).pl()
    new = seen.join(known, on="name", how="anti")["name"].to_list()
    cached = known.join(seen, on="name", how="semi")
    unchanged = not new and cached.height == _row_count(con, "core.key_name_cache")
    if unchanged and has_table(con, "core", "normalized_names"):
        return  # every name seen is there, under these rules, and nothing else is
    computed = pl.DataFrame(
        {"name": new, "norm": [key_name(n) for n in new]},
        schema={"name": pl.String, "norm": pl.String},
    )
    names = pl.concat([cached, computed]).sort("name")
    replace_table(con, "core.key_name_cache", names.with_columns(pl.lit(rules).alias("rules")))
    replace_table(con, "core.normalized_names", names.filter(pl.col("norm").is_not_null()))


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return int(scalar(con, f"select count(*) from {table}"))


def unambiguous_matches(name_matches: pl.DataFrame, uf: UnionFind) -> list[tuple[str, str]]:
    """The matched name pairs strongest first, less every pair of a name that belongs to no
    business yet and matches two that cannot be one (`天信` beside 天信动物保健 and 天信商贸,
    each registered): such a name is left on its own rather than given to either."""
    known = uf.known()
    ordered = name_matches.filter(pl.col("key_a").is_in(known) & pl.col("key_b").is_in(known)).sort(
        ["match_probability", "key_a", "key_b"], descending=[True, False, False]
    )
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


def hard_components(keys: pl.Series, edges: pl.DataFrame) -> pl.Series:
    """The root of each of the sorted, distinct `keys` once every (anchor, key) edge has
    joined its two sets: the smallest key of its connected component, which is the root
    `UnionFind` leaves whatever the order of the unions. Minimum labels propagate along the
    edges, vectorised, with pointer jumping, until they settle."""
    index = {"key": keys, "i": pl.int_range(keys.len(), eager=True)}
    ids = pl.DataFrame(index)
    pairs = edges.join(ids.rename({"key": "anchor", "i": "a"}), on="anchor").join(ids, on="key")
    a, b = pairs["a"].to_numpy(), pairs["i"].to_numpy()
    label = np.arange(keys.len())
    while True:
        low = np.minimum(label[a], label[b])
        settled = label.copy()
        np.minimum.at(settled, a, low)
        np.minimum.at(settled, b, low)
        while not np.array_equal(jumped := settled[settled], settled):
            settled = jumped
        if np.array_equal(settled, label):
            return keys.gather(label)
        label = settled


def _entity_ids(key_roots: pl.DataFrame, seen_on: pl.DataFrame) -> pl.DataFrame:
    """key → entity_id from (key, root) rows and each key's first record date (key, seen_on;
    null = undated): `entity_id_for` of each root's keys, in the order of the roots and then
    of the keys."""
    kind = pl.col("key").str.split(":").list.first()
    priority = kind.replace_strict(KEY_PRIORITY, return_dtype=pl.Int64)
    anchors = (
        key_roots.join(seen_on, on="key", how="left")
        .with_columns(priority.alias("priority"), (kind == "name").alias("is_name"))
        .sort(["root", "is_name", "seen_on", "priority", "key"], nulls_last=True)
        .group_by("root", maintain_order=True)
        .agg(pl.col("key").first().alias("anchor"))
    )
    ids = [anchor_id(anchor) for anchor in anchors["anchor"].to_list()]
    anchors = anchors.with_columns(pl.Series("entity_id", ids, dtype=pl.String))
    linked = key_roots.join(anchors.select("root", "entity_id"), on="root")
    return linked.sort("root", "key").select("key", "entity_id")


# Issue 22: the soft links of the sets that no USCC or shop can keep apart are taken at once
# (connected components), the Python union-find runs only where the order of the links
# matters; False: every link through the union-find over every key (the reference path,
# tests/test_pipeline.py::reference_paths).
SETS_AT_ONCE = True


def _linked_one_by_one(
    key_roots: pl.DataFrame,
    soft_pairs: pl.DataFrame,
    shop_links: pl.DataFrame | None,
    splits: pl.DataFrame | None,
    name_matches: pl.DataFrame | None,
) -> pl.DataFrame:
    """(key, root) once the soft pairs (anchor, key; in their order), the shop links and the
    unambiguous name matches have joined the hard sets of (key, root), through a union-find
    over every key."""
    usccs = key_roots.filter(pl.col("key").str.starts_with("uscc:")).group_by("root").agg("key")
    shops = key_roots.filter(pl.col("key").str.starts_with("shop:"))["root"]
    uf = UnionFind.from_components(
        key_roots,
        {r: frozenset(k) for r, k in usccs.iter_rows()},
        set(shops.to_list()),
    )
    for a, b in soft_pairs.select("anchor", "key").iter_rows():
        uf.union(a, b, soft=True)
    if shop_links is not None:
        apply_shop_links(uf, shop_links, splits)
    if name_matches is not None:
        for a, b in unambiguous_matches(name_matches, uf):
            uf.union(a, b, soft=True)
    roots = key_roots["root"].unique()
    parent = uf.parent  # most sets took no soft link: their root is still its own parent
    finals = [r if parent[r] == r else uf.find(r) for r in roots.to_list()]
    final = pl.DataFrame({"root": roots, "final": pl.Series(finals, dtype=pl.String)})
    return key_roots.join(final, on="root").select("key", pl.col("final").alias("root"))


def _sets_of(key_roots: pl.DataFrame, keys: pl.Series) -> tuple[UnionFind, pl.Series]:
    """A union-find over the sets of (key, root) that holds `keys` and their roots only, with
    what those roots' sets hold (their USCCs, whether a shop), its universe every key; and
    those roots."""
    wanted = key_roots.filter(pl.col("key").is_in(keys))
    roots = wanted["root"].unique()
    members = key_roots.filter(pl.col("root").is_in(roots))
    usccs = members.filter(pl.col("key").str.starts_with("uscc:")).group_by("root").agg("key")
    shops = members.filter(pl.col("key").str.starts_with("shop:"))["root"].unique()
    uf = UnionFind()
    uf.parent = dict(zip(roots.to_list(), roots.to_list(), strict=True))
    uf.parent |= dict(zip(wanted["key"].to_list(), wanted["root"].to_list(), strict=True))
    uf.usccs = {r: frozenset(k) for r, k in usccs.iter_rows()}
    uf.has_shop = dict.fromkeys(shops.to_list(), True)
    uf.universe = key_roots["key"]
    return uf, roots


def _linked_at_once(
    key_roots: pl.DataFrame,
    soft_pairs: pl.DataFrame,
    shop_links: pl.DataFrame | None,
    splits: pl.DataFrame | None,
    name_matches: pl.DataFrame | None,
) -> pl.DataFrame:
    """`_linked_one_by_one`, exactly. The soft pairs (anchor, key, anchor_root, root) join
    the hard sets into connected components; in a component holding at most one set with
    USCCs and at most one with a shop no soft link is ever refused, so it becomes one set
    whose root is its smallest key (as the union-find leaves it). The other components, and
    then the shop links and name matches, go through a union-find over the keys they name."""
    if soft_pairs.height:
        from scipy.sparse import coo_array
        from scipy.sparse.csgraph import connected_components

        sets = pl.concat([soft_pairs["anchor_root"], soft_pairs["root"]]).unique().sort()
        index = pl.DataFrame({"r": sets, "i": pl.int_range(sets.len(), eager=True)})
        ends = soft_pairs.join(
            index.rename({"r": "anchor_root", "i": "a"}), on="anchor_root", maintain_order="left"
        ).join(index.rename({"r": "root", "i": "b"}), on="root", maintain_order="left")
        a, b = ends["a"].to_numpy(), ends["b"].to_numpy()
        graph = coo_array((np.ones(a.size, dtype=np.int8), (a, b)), shape=(sets.len(),) * 2)
        _, component = connected_components(graph, directed=False)
        held = (
            key_roots.filter(pl.col("root").is_in(sets))
            .group_by("root")
            .agg(
                pl.col("key").str.starts_with("uscc:").any().alias("uscc"),
                pl.col("key").str.starts_with("shop:").any().alias("shop"),
            )
        )
        touched = (
            index.with_columns(pl.Series("c", component))
            .join(held.rename({"root": "r"}), on="r", how="left")
            .with_columns(
                free=(pl.col("uscc").sum().over("c") <= 1) & (pl.col("shop").sum().over("c") <= 1),
                smallest=pl.col("r").min().over("c"),
            )
        )
        free = touched.filter("free").select(pl.col("r").alias("root"), pl.col("smallest"))
        ordered = touched.filter(~pl.col("free"))["r"]
        merged = [free]
        if ordered.len():
            pairs = soft_pairs.filter(pl.col("anchor_root").is_in(ordered))
            uf, _ = _sets_of(key_roots, pl.concat([pairs["anchor"], pairs["key"]]))
            for x, y in pairs.select("anchor", "key").iter_rows():
                uf.union(x, y, soft=True)
            finds = [uf.find(r) for r in ordered.to_list()]
            merged.append(pl.DataFrame({"root": ordered, "smallest": finds}))
        new_root = pl.concat(merged)
        key_roots = key_roots.join(new_root, on="root", how="left", maintain_order="left").select(
            "key", pl.coalesce("smallest", "root").alias("root")
        )
    named = [
        frame[side]
        for frame in (shop_links, name_matches, splits)
        if frame is not None
        for side in ("key_a", "key_b")
    ]
    if not named:
        return key_roots
    uf, roots = _sets_of(key_roots, pl.concat(named).unique())
    if shop_links is not None:
        apply_shop_links(uf, shop_links, splits)
    if name_matches is not None:
        for x, y in unambiguous_matches(name_matches, uf):
            uf.union(x, y, soft=True)
    finals = pl.Series([uf.find(r) for r in roots.to_list()], dtype=pl.String)
    final = pl.DataFrame({"root": roots, "final": finals})
    return key_roots.join(final, on="root", how="left", maintain_order="left").select(
        "key", pl.coalesce("final", "root").alias("root")
    )


def link_keys(
    record_keys: pl.DataFrame,
    config: ResolveConfig,
    name_matches: pl.DataFrame | None = None,
    shop_links: pl.DataFrame | None = None,
    splits: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """key → entity_id for every key, from (feed, record_id, key, rank, key_kind) rows, the
    matched names (key_a, key_b, match_probability) of `splink_match.name_match_edges` and the
    shop links of `shop_linkage.shop_link_edges` less the steward's splits (`apply_shop_links`)."""
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
    # Hard keys first, then exact names, then matched names strongest first, each in a
    # fixed order; names under the USCC and shop constraints. Hard links join sets
    # unconditionally, so their sets are connected components (computed at once); soft
    # links are checked against the sets one after the other, as their order matters.
    hard = edges.filter(pl.col("key_kind") != "name").filter(
        ~pl.col("anchor").str.starts_with("name:")
    )
    soft = edges.filter((pl.col("key_kind") == "name") | pl.col("anchor").str.starts_with("name:"))
    keys = usable["key"].unique().sort()
    key_roots = pl.DataFrame({"key": keys, "root": hard_components(keys, hard)})
    soft_pairs = soft.select("anchor", "key").unique().sort("anchor", "key")
    roots_of = key_roots.rename({"key": "anchor", "root": "anchor_root"})
    soft_pairs = (
        soft_pairs.join(roots_of, on="anchor", maintain_order="left")
        .join(key_roots, on="key", maintain_order="left")
        .filter(pl.col("anchor_root") != pl.col("root"))  # already one set: nothing to check
    )
    link = _linked_at_once if SETS_AT_ONCE else _linked_one_by_one
    key_roots = link(key_roots, soft_pairs, shop_links, splits, name_matches)
    return _entity_ids(key_roots, first_seen(usable))


def first_seen(record_keys: pl.DataFrame) -> pl.DataFrame:
    """(key, seen_on): the earliest record date of each key; null when only undated records
    (the register) carry it, or when record_keys has no dates."""
    if "seen_on" not in record_keys.columns:
        return record_keys.select("key").unique().with_columns(seen_on=pl.lit(None, pl.Date))
    return record_keys.group_by("key").agg(pl.col("seen_on").min())


def resolve_entities(
    con: duckdb.DuckDBPyConnection,
    as_of: object,
    config: ResolveConfig | None = None,
    name_matches: pl.DataFrame | None = None,
    keys_built: bool = False,
    shop_config: ShopLinkConfig | None = None,
) -> int:
    """Build core.record_keys, core.name_matches, core.entity_keys and core.record_entities;
    returns the entity count. `name_matches`, when given, are the edges `name_match_edges`
    would find for `as_of` (scored beforehand with other days': `transforms.features`); with
    `keys_built`, core.record_keys already holds the keys as of `as_of`, and
    core.normalized_names is fresh (`name_matches_as_known_on` refreshed it: the names seen
    are those of the histories, the same on every day). `shop_config` is the shop linker's
    (`shop_linkage.load_config`, read once for many days)."""
    config = config or ResolveConfig()
    if not keys_built:
        refresh_normalized_names(con)
        materialize(con, "core.record_keys", "core/record_keys.sql", {"as_of": as_of})
    record_keys = con.sql("select * from core.record_keys").pl()
    if not config.match_names:
        name_matches = None
    elif name_matches is None:
        name_matches = name_match_edges(con, as_of)
    else:
        replace_table(con, "core.name_matches", name_matches)
    if name_matches is None:
        replace_table(con, "core.name_matches", pl.DataFrame(schema=EDGE_SCHEMA))
    shop_links = shop_link_edges(con, as_of, shop_config) if config.link_shops else None
    if shop_links is None:
        replace_table(con, "core.shop_links", pl.DataFrame(schema=LINK_SCHEMA))
    splits = shop_link_splits(con)
    entity_keys = link_keys(record_keys, config, name_matches, shop_links, splits)
    replace_table(con, "core.entity_keys", entity_keys)
    materialize(con, "core.record_entities", "core/record_entities.sql")
    return int(scalar(con, "select count(distinct entity_id) from core.entity_keys"))
