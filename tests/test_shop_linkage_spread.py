"""A stem that names no single seller (issue 19): a place word that shops and registered
businesses use all over the province counts as a common stem, so two otherwise similar shops
of one county and category no longer link on it; a ring's own trade name, used in one county,
is unaffected."""

from __future__ import annotations

import dataclasses
import random

import duckdb
import polars as pl

from tests.test_shop_linkage import AS_OF, background, shop_rows, stage_listings
from transforms.shop_linkage import (
    BUSINESS_SCHEMA,
    load_config,
    refresh_shop_candidates,
    score_shop_pairs,
)

COUNTIES = [  # 14 counties of Qinghai
    "630102", "630103", "630104", "630105", "630106", "630121", "630123",
    "630202", "630203", "630223", "632221", "632321", "632521", "632801",
]  # fmt: skip
AUTO = ["机油", "刹车片", "雨刮器", "火花塞", "蓄电池", "轮胎"]


def place_word_world(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Background shops; two shops of one county and auto parts named for the region 河湟 (an
    operator's and an innocent's: titles alike, opened two weeks apart); a keyless ring 兴湖 of
    three shops in one county; and 河湟 in the names of registered businesses of every county
    (the register: `business_candidates`' rows)."""
    rnd = random.Random(85)
    rows = background(rnd)
    titles = [("博世", "博世机油刹车片正品包邮")]
    for platform, shop_id, name, opened in (
        ("taobao", "P1", "河湟汽车用品优选", 2),
        ("pdd", "P2", "河湟车品", 4),
    ):
        rows += shop_rows(
            rnd, platform, shop_id, name, "auto_parts", "630106",
            opened=opened, products=AUTO, titles=titles, listings=3,
        )  # fmt: skip
    copied = [(b, f"{b}感冒灵颗粒正品特价包邮") for b in ("999", "仁和", "白云山")]
    for platform, shop_id, name, opened in (
        ("taobao", "R1", "兴湖药店1店", 4),
        ("pdd", "R2", "兴湖药店2店", 5),
        ("douyin", "R3", "兴湖正版直营", 7),
    ):
        rows += shop_rows(
            rnd, platform, shop_id, name, "pharmaceuticals", "630104",
            opened=opened, price=0.4, titles=copied,
        )  # fmt: skip
    stage_listings(con, rows)
    shops = refresh_shop_candidates(con, AS_OF)
    categories = ["auto_parts", "pharmaceuticals", "mobile_phones"]
    businesses = pl.DataFrame(
        [
            {
                "key": f"uscc:9163{i:014d}",
                "shop_name": f"青海河湟{i}号商贸有限公司",
                "ship_from": county,
                "category": categories[i % 3],
                "stem": "河湟",
            }
            for i, county in enumerate(COUNTIES)
        ],
        schema=BUSINESS_SCHEMA,
    )
    return shops, businesses


def probability(pairs: pl.DataFrame, a: str, b: str) -> float:
    row = pairs.filter((pl.col("key_a") == min(a, b)) & (pl.col("key_b") == max(a, b)))
    return float(row["match_probability"][0]) if row.height else 0.0


def test_a_widely_spread_place_word_no_longer_links_two_shops(
    con: duckdb.DuckDBPyConnection,
) -> None:
    shops, businesses = place_word_world(con)
    config = load_config()
    assert config.spread is not None and len(COUNTIES) >= config.spread.counties
    a, b = "shop:pdd:P2", "shop:taobao:P1"
    unspread = score_shop_pairs(shops, dataclasses.replace(config, spread=None), 0.0, businesses)
    assert probability(unspread, a, b) >= config.threshold  # a share of the shops: 2 of 255
    pairs = score_shop_pairs(shops, config, 0.0, businesses)
    assert probability(pairs, a, b) < config.threshold


def test_a_ring_named_in_one_county_still_links(con: duckdb.DuckDBPyConnection) -> None:
    shops, businesses = place_word_world(con)
    config = load_config()
    pairs = score_shop_pairs(shops, config, 0.0, businesses)
    unspread = score_shop_pairs(shops, dataclasses.replace(config, spread=None), 0.0, businesses)
    ring = ["shop:taobao:R1", "shop:pdd:R2", "shop:douyin:R3"]
    for i, a in enumerate(ring):
        for b in ring[i + 1 :]:
            assert probability(pairs, a, b) >= config.threshold
            assert probability(pairs, a, b) == probability(unspread, a, b)
