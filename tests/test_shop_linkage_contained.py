"""A ring's storefront whose trade-name stem contains the ring's (恒佳泓 / 佳泓), shipping from
another county of the ring's prefecture, joins the ring on the evidence of its pairs with it
(`shop_linkage.PREFECTURE_CONTAINED`, then `with_cluster_evidence`, issue 19); a stranger's
shop and a franchise chain's branch with such a stem, and a storefront of another prefecture,
stay apart."""

from __future__ import annotations

import random

import duckdb

from tests.test_shop_linkage import AS_OF, entities, shop_rows
from tests.test_shop_linkage_cluster import AWAY, COPIED, franchise_rows, ring_world, touching
from transforms.resolve import resolve_entities
from transforms.shop_linkage import load_config, refresh_shop_candidates, score_shop_pairs

DRESSED = "taobao:C1"  # 恒佳泓小铺: the ring's stem with one character more, of 630102


def dressed(rnd: random.Random, county: str = "630102", **kwargs: object) -> list[dict]:
    """The ring's storefront 恒佳泓小铺 (as the ring: cheap, its titles, opened with it)."""
    options = {"opened": 5, "price": 0.4, "titles": COPIED[:2]} | kwargs
    return shop_rows(rnd, "taobao", "C1", "恒佳泓小铺", "pharmaceuticals", county, **options)  # type: ignore[arg-type]


def test_a_contained_stem_of_another_county_of_the_prefecture_joins_the_ring(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ring_world(con, dressed(random.Random(3)))
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[DRESSED] == ids["taobao:R1"] == ids[AWAY]
    assert sum(1 for entity in ids.values() if entity == ids[DRESSED]) == 6  # nothing else


def test_the_contained_pairs_are_scored_and_each_alone_falls_short(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ring_world(con, dressed(random.Random(3)))
    candidates = refresh_shop_candidates(con, AS_OF)
    config = load_config()
    own = (
        score_shop_pairs(candidates, config, at_least=0.0)
        .filter(touching(DRESSED))
        .sort("match_probability")["match_probability"]
        .to_list()
    )
    assert len(own) == 5  # the four ring shops of 630104 and the away shop of 630105
    assert all(config.cluster.moderate <= p < config.threshold for p in own[:4]), own


def test_a_stranger_with_a_contained_stem_stays_apart(con: duckdb.DuckDBPyConnection) -> None:
    """恒佳泓 of the next county, open since before the data, its own titles and prices."""
    ring_world(con, dressed(random.Random(5), opened=0, price=1.0, titles=None))
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[DRESSED] != ids["taobao:R1"] == ids[AWAY]


def test_another_prefecture_is_not_scored(con: duckdb.DuckDBPyConnection) -> None:
    ring_world(con, dressed(random.Random(3), county="632801"))
    candidates = refresh_shop_candidates(con, AS_OF)
    pairs = score_shop_pairs(candidates, load_config(), at_least=0.0)
    assert pairs.filter(touching(DRESSED)).is_empty()
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[DRESSED] != ids["taobao:R1"]


def test_a_franchise_chains_branch_with_a_contained_stem_stays_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Three registered branches of 康泓大药房 in 630104 (each its own USCC), as alike as a
    ring, and a keyless 瑞康泓大药房 of 630105: the branches are no group it could join."""
    rnd = random.Random(11)
    rows = franchise_rows(rnd, "瑞康泓大药房")
    ring_world(con, rows)
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert len({ids[k] for k in ("pdd:F1", "douyin:F2", "jd:F4", "taobao:F3")}) == 4
    links = con.sql("select key_a, key_b from core.shop_links").pl()
    assert links.filter(touching("taobao:F3")).is_empty()
