"""A shop joins a group of linked shops on the evidence of its pairs with them together
(`shop_linkage.with_cluster_evidence`, issue 19): a ring's storefront that ships from another
county of the ring's prefecture joins the ring; a stranger's shop of the same trade name, two
authorised resellers of one brand and a franchise chain's branches stay apart; a steward's
split holds."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import duckdb
import polars as pl
import pytest

from models.scoring import soft_link_reason
from tests.test_shop_linkage import (
    AS_OF,
    BRANDS,
    MEDICINE,
    background,
    entities,
    shop_rows,
    stage_listings,
)
from transforms.features import resolve_and_build
from transforms.resolve import resolve_entities
from transforms.shop_linkage import (
    load_config,
    refresh_shop_candidates,
    score_shop_pairs,
    shop_links_for_review,
    split_shop_link,
    with_cluster_evidence,
)

COPIED = [
    (brand, f"{brand}{product}正品特价包邮")
    for brand, product in zip(BRANDS["pharmaceuticals"], MEDICINE, strict=False)
]
RING = ("taobao:R1", "pdd:R2", "douyin:R3", "jd:R4")
AWAY = "taobao:R5"  # the ring's storefront shipping from another county of 西宁 (6301)


def ring_rows(rnd: random.Random) -> list[dict[str, Any]]:
    """A keyless ring of one trade name (佳泓): four shops of 630104 and one of 630105, cheap,
    opened within four weeks, the same two titles in every shop."""
    rows: list[dict[str, Any]] = []
    for platform_shop, name, county, opened in (
        ("taobao:R1", "佳泓药店1店", "630104", 4),
        ("pdd:R2", "佳泓药店2店", "630104", 5),
        ("douyin:R3", "佳泓正版直营", "630104", 6),
        ("jd:R4", "佳泓好物店", "630104", 5),
        (AWAY, "佳泓优选", "630105", 5),
    ):
        platform, shop_id = platform_shop.split(":")
        rows += shop_rows(
            rnd, platform, shop_id, name, "pharmaceuticals", county,
            opened=opened, price=0.4, titles=COPIED[:2],
        )  # fmt: skip
    return rows


def franchise_rows(
    rnd: random.Random, keyless_name: str, keyless_county: str = "630105"
) -> list[dict[str, Any]]:
    """A franchise chain: three registered branches of 康泓大药房 in 630104 (each its own USCC),
    as alike as a ring, and a keyless shop `keyless_name` (taobao:F3) in `keyless_county`."""
    rows: list[dict[str, Any]] = []
    for platform, shop_id, name, county, uscc in (
        ("pdd", "F1", "康泓大药房1店", "630104", "91630104MA7FRAN001"),
        ("douyin", "F2", "康泓大药房2店", "630104", "91630104MA7FRAN002"),
        ("jd", "F4", "康泓大药房3店", "630104", "91630104MA7FRAN004"),
        ("taobao", "F3", keyless_name, keyless_county, None),
    ):
        rows += shop_rows(
            rnd, platform, shop_id, name, "pharmaceuticals", county,
            opened=5, price=0.4, titles=COPIED[:2], uscc=uscc,
        )  # fmt: skip
    return rows


def ring_world(con: duckdb.DuckDBPyConnection, extra: list[dict[str, Any]] | None = None) -> None:
    rnd = random.Random(23)
    # 750 ordinary shops: five shops of one trade name among them are 0.7 % (a ring's stem)
    stage_listings(con, background(rnd, 750) + ring_rows(rnd) + (extra or []))


def touching(shop: str) -> pl.Expr:
    return (pl.col("key_a") == f"shop:{shop}") | (pl.col("key_b") == f"shop:{shop}")


def test_a_ring_shop_of_another_county_joins_on_the_rings_evidence(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ring_world(con)
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert len({ids[k] for k in (*RING, AWAY)}) == 1
    assert sum(1 for entity in ids.values() if entity == ids[AWAY]) == 5  # nothing else
    links = shop_links_for_review(con)
    away = links.filter(touching(AWAY))
    assert away.height == 1 and away["match_probability"][0] >= load_config().threshold
    assert away["ship_from"][0] is None  # two counties: the reason names no common one


def test_the_leads_reason_names_both_counties_of_the_ring(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Four shops ship from 630104 and one from 630105: the lead says so, not "the same
    ship-from" (an inspector would otherwise search one county only)."""
    ring_world(con)
    resolve_and_build(con, AS_OF)
    ring = entities(con)[RING[0]]
    row = (
        con.sql(
            "select * from features.entity_profile where entity_id = $ring", params={"ring": ring}
        )
        .pl()
        .row(0, named=True)
    )
    assert row["soft_link_shops"] == 5 and row["soft_link_ship_from_places"] == 2
    reason = soft_link_reason(row)
    assert reason is not None and "同一发货地" not in reason
    assert f"发货地{row['soft_link_ship_from']}等2个县区" in reason
    assert "and 1 other county" in reason


def test_each_of_the_away_shops_pairs_alone_falls_short(con: duckdb.DuckDBPyConnection) -> None:
    """Without the group's evidence the away shop is moderately likely against each ring shop
    (the case the cluster-level match is for), not linked."""
    ring_world(con)
    candidates = refresh_shop_candidates(con, AS_OF)
    config = load_config()
    no_groups = score_shop_pairs(candidates, config).filter(~touching(AWAY))
    assert (no_groups["match_probability"] >= config.threshold).sum() == 6  # the ring's pairs
    pairs = score_shop_pairs(candidates, config, at_least=0.0)
    away = pairs.filter(touching(AWAY))
    assert away.height == 4
    # one pair carries the group's probability; the other three keep their own, each short
    own = away.sort("match_probability")["match_probability"].to_list()[:3]
    assert all(config.cluster.moderate <= p < config.threshold for p in own), own


def test_a_strangers_shop_of_the_same_trade_name_stays_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Another county, open since before the data, its own titles and prices: one trade name
    is all it shares with the ring."""
    rnd = random.Random(5)
    stranger = shop_rows(
        rnd, "jd", "X1", "佳泓大药房", "pharmaceuticals", "630105", opened=0, price=1.0
    )
    ring_world(con, stranger)
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids["jd:X1"] != ids["taobao:R1"] == ids[AWAY]


def test_resellers_of_one_brand_and_a_franchise_chain_stay_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Authorised resellers' stem is the brand (no stem); a franchise chain's branches each
    show their own USCC, so three of them in one county, however alike, are no group that a
    third, keyless branch of the next county could join."""
    rnd = random.Random(11)
    rows: list[dict[str, Any]] = []
    for platform, shop_id, name, county in (
        ("taobao", "A1", "华为手机专营店", "630104"),
        ("pdd", "A2", "华为数码授权店", "630104"),
        ("douyin", "A3", "华为授权体验店", "630105"),
    ):
        rows += shop_rows(rnd, platform, shop_id, name, "mobile_phones", county, brands=["华为"])
    rows += franchise_rows(rnd, "康泓大药房")
    ring_world(con, rows)
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert len({ids[k] for k in ("taobao:A1", "pdd:A2", "douyin:A3")}) == 3
    assert len({ids[k] for k in ("pdd:F1", "douyin:F2", "jd:F4", "taobao:F3")}) == 4
    assert ids[AWAY] == ids["taobao:R1"]  # the ring still joins its away shop


def test_a_stewards_split_of_the_away_shop_holds(con: duckdb.DuckDBPyConnection) -> None:
    ring_world(con)
    resolve_entities(con, AS_OF)
    links = shop_links_for_review(con)
    away = links.filter(touching(AWAY)).row(0, named=True)
    split_shop_link(
        con, away["key_a"], away["key_b"], "王科长", "另一经营者", dt.datetime(2026, 7, 1)
    )
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[AWAY] != ids["taobao:R1"] == ids["pdd:R2"]


def scored(rows: list[tuple[str, str, float, float]]) -> pl.DataFrame:
    """Pairs (a, b, match_weight, stem_weight) as `score_shop_pairs` scores them."""
    return pl.DataFrame(
        [(a, b, 1 / (1 + 2**-w), w, s) for a, b, w, s in rows],
        schema=["key_a", "key_b", "match_probability", "match_weight", "stem_weight"],
        orient="row",
    )


def test_the_groups_evidence_counts_the_stem_once() -> None:
    """A group (A, B); S's two pairs with it, 0.82 each, share the stem's weight (-1 bit): -1 +
    2 x 3.2 bits is 0.977. T has one moderate pair and one weak: no join. U is wanted by two
    groups, (A, B) and (C, D): it joins neither."""
    config = load_config()
    pairs = scored(
        [
            ("A", "B", 6.0, -1.0),
            ("C", "D", 6.0, -1.0),
            ("A", "S", 2.2, -1.0),
            ("B", "S", 2.2, -1.0),
            ("A", "T", 2.2, -1.0),
            ("B", "T", -3.0, -1.0),
            ("A", "U", 2.2, -1.0),
            ("B", "U", 2.2, -1.0),
            ("C", "U", 2.2, -1.0),
            ("D", "U", 2.2, -1.0),
        ]
    )
    raised = with_cluster_evidence(pairs, config)
    p = {(a, b): q for a, b, q in raised.select("key_a", "key_b", "match_probability").iter_rows()}
    assert p[("A", "S")] == pytest.approx(1 / (1 + 2**-5.4))
    assert p[("B", "S")] == pytest.approx(1 / (1 + 2**-2.2))  # the strongest pair carries it
    assert p[("A", "T")] < config.threshold
    assert max(p[(g, "U")] for g in "ABCD") < config.threshold
    registered = with_cluster_evidence(pairs, config, usccs={"S": "91630104MA7XXXXXX1"})
    assert registered.filter(pl.col("key_b") == "S")["match_probability"].max() < 0.9
