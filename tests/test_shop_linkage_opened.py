"""A ring's storefront in another prefecture joins the ring because it opened with it
(`shop_linkage.with_cluster_evidence`, `_opened_with_the_ring`, issue 19): the ring's keyless
shops all opened after the data began, within weeks of each other, and so did the storefront.
A franchise chain's branches across prefectures (open before the data, or registered) and a
stranger's shop of the trade name that opened months later stay apart."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import duckdb
import polars as pl

from models.scoring import soft_link_reason
from tests.test_shop_linkage import AS_OF, entities, shop_rows
from tests.test_shop_linkage_cluster import (
    AWAY,
    COPIED,
    RING,
    franchise_rows,
    ring_world,
    scored,
    touching,
)
from transforms.features import resolve_and_build
from transforms.resolve import resolve_entities
from transforms.shop_linkage import (
    CLUSTER_RULE,
    OPENED_RULE,
    load_config,
    refresh_shop_candidates,
    score_shop_pairs,
    shop_links_for_review,
    split_shop_link,
    with_cluster_evidence,
)

FAR = "pdd:R6"  # the ring's storefront shipping from Haixi (6328), not Xining (6301)


def far_shop(rnd: random.Random, name: str = "佳泓专营店", **kwargs: Any) -> list[dict[str, Any]]:
    """A 佳泓 shop of 632801 (the ring opened in weeks 4-6): by default the ring's, cheap, its
    titles, opened in week 6."""
    options = {"opened": 6, "price": 0.4, "titles": COPIED[:2]} | kwargs
    return shop_rows(rnd, "pdd", "R6", name, "pharmaceuticals", "632801", **options)


def test_a_rings_storefront_in_another_prefecture_joins_it(
    con: duckdb.DuckDBPyConnection,
) -> None:
    ring_world(con, far_shop(random.Random(7)))
    candidates = refresh_shop_candidates(con, AS_OF)
    config = load_config()
    pairs = score_shop_pairs(candidates, config, at_least=0.0).filter(touching(FAR))
    assert pairs.height == 5  # one stem and category: scored against every ring shop
    # one pair carries the link at the threshold; alone, each pair is far from one
    own = pairs.sort("match_probability")["match_probability"].to_list()
    assert own[-1] == config.threshold and max(own[:-1]) < config.cluster.moderate, own
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[FAR] == ids[AWAY] == ids[RING[0]]
    assert sum(1 for entity in ids.values() if entity == ids[FAR]) == 6  # nothing else


def test_a_stewards_split_of_the_far_shop_holds(con: duckdb.DuckDBPyConnection) -> None:
    ring_world(con, far_shop(random.Random(7)))
    resolve_entities(con, AS_OF)
    far = shop_links_for_review(con).filter(touching(FAR)).row(0, named=True)
    split_shop_link(
        con, far["key_a"], far["key_b"], "王科长", "另一经营者", dt.datetime(2026, 7, 1)
    )
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[FAR] != ids[RING[0]] == ids[AWAY]


def test_a_shop_of_the_trade_name_that_opened_months_later_stays_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Another prefecture, opened in week 11 (five weeks after the ring's last shop)."""
    ring_world(con, far_shop(random.Random(7), opened=11))
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids[FAR] != ids[RING[0]] == ids[AWAY]


def test_a_franchise_chain_across_prefectures_stays_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The registered branches of 康泓大药房 in 630104 and a keyless one in 632801, opened in
    the same week; and two keyless 顺泓 branches of 630104, open since before the data, with a
    keyless one of 632801 that opened in week 5: no group a far branch could join."""
    rnd = random.Random(11)
    rows = franchise_rows(rnd, "康泓大药房5店", keyless_county="632801")
    for platform, shop_id, name, county, opened in (
        ("pdd", "K1", "顺泓大药房1店", "630104", 0),
        ("douyin", "K2", "顺泓大药房2店", "630104", 0),
        ("taobao", "K3", "顺泓大药房3店", "632801", 5),
    ):
        rows += shop_rows(
            rnd, platform, shop_id, name, "pharmaceuticals", county,
            opened=opened, titles=COPIED[2:4],
        )  # fmt: skip
    ring_world(con, rows)
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert len({ids[k] for k in ("pdd:F1", "douyin:F2", "jd:F4", "taobao:F3")}) == 4
    assert ids["pdd:K1"] == ids["douyin:K2"] != ids["taobao:K3"]  # one owner's two shops
    assert ids[AWAY] == ids[RING[0]]  # the ring still joins its storefronts


def test_who_opened_with_the_ring() -> None:
    """A group (A, B), keyless, opened on 1 and 8 March; S (opened 20 March) and T (2 June)
    each have two weak pairs with it. S joins at the threshold, T does not; none joins when
    the group has a shop with a USCC or whose opening is unknown, nor a shop with a USCC."""
    config = load_config()
    pairs = scored(
        [
            ("A", "B", 6.0, -1.0),
            ("A", "S", -3.0, -1.0),
            ("B", "S", -4.0, -1.0),
            ("A", "T", -3.0, -1.0),
            ("B", "T", -3.0, -1.0),
        ]
    )
    march = {"A": dt.date(2026, 3, 1), "B": dt.date(2026, 3, 8), "S": dt.date(2026, 3, 20)}
    openings = march | {"T": dt.date(2026, 6, 2)}

    def joined(raised: pl.DataFrame) -> set[str]:
        linked = raised.filter(pl.col("match_probability") >= config.threshold)
        return {k for k in (*linked["key_a"], *linked["key_b"])} - {"A", "B"}

    raised = with_cluster_evidence(pairs, config, openings=openings)
    assert joined(raised) == {"S"}
    assert raised.filter(pl.col("key_b") == "S")["match_probability"].max() == config.threshold
    assert (
        joined(with_cluster_evidence(pairs, config, usccs={"B": "91"}, openings=openings)) == set()
    )
    unknown = {k: d for k, d in openings.items() if k != "B"}
    assert joined(with_cluster_evidence(pairs, config, openings=unknown)) == set()
    assert (
        joined(with_cluster_evidence(pairs, config, usccs={"S": "91"}, openings=openings)) == set()
    )
    assert joined(with_cluster_evidence(pairs, config)) == set()


def test_the_lead_says_its_shop_opened_with_the_ring(con: duckdb.DuckDBPyConnection) -> None:
    """The far shop joined by the rule, not by its score: the link says so (`rule`), and the
    lead's reasons say it in the inspector's words; a ring joined by scores alone does not."""
    ring_world(con, far_shop(random.Random(7)))
    resolve_and_build(con, AS_OF)
    links = shop_links_for_review(con)
    rules = con.sql("select key_a, key_b, rule from core.shop_links where rule is not null").pl()
    # the shop of the ring's prefecture joined on cluster evidence, the far one as it opened
    assert sorted(rules["rule"]) == [CLUSTER_RULE, OPENED_RULE]
    opened = rules.filter(pl.col("rule") == OPENED_RULE).row(0, named=True)
    assert FAR in {opened["key_a"].removeprefix("shop:"), opened["key_b"].removeprefix("shop:")}
    assert links.height > rules.height  # the ring's own links: no rule
    ring = entities(con)[FAR]
    row = (
        con.sql("select * from features.entity_profile where entity_id = $e", params={"e": ring})
        .pl()
        .row(0, named=True)
    )
    assert row["soft_link_opened_with_ring"] == 1  # the far shop
    reason = soft_link_reason(row)
    assert reason is not None
    assert "6家店铺字号相同（佳泓）" in reason and "其中1家与同组店铺在4周内相继开店" in reason
    assert "1 of them opened within 4 weeks of the ring's shops" in reason
    without = soft_link_reason(row | {"soft_link_opened_with_ring": 0})
    assert without is not None and "相继开店" not in without


def test_a_ring_joined_by_its_scores_says_nothing_of_openings(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The far shop opened months later: it stays apart, and no lead says its shops opened
    with a ring."""
    ring_world(con, far_shop(random.Random(7), opened=11))
    resolve_and_build(con, AS_OF)
    rules = con.sql("select distinct rule from core.shop_links where rule is not null").fetchall()
    assert rules == [(CLUSTER_RULE,)]  # the ring's shop of its prefecture only
    flagged = con.sql(
        "select count(*) from features.entity_profile where soft_link_opened_with_ring > 0"
    ).fetchall()
    assert flagged == [(0,)]
    reasons = [
        soft_link_reason(r)
        for r in con.sql("select * from features.entity_profile").pl().iter_rows(named=True)
    ]
    assert not any("相继开店" in r for r in reasons if r)
