"""Storefronts linked on soft evidence (issue 19): a ring that shows no USCC and no shared
contact merges; authorised resellers of one brand, a franchise chain and shops of one street
stay apart; a steward's split survives a re-run."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pytest

from data_contracts.contract import contracts
from models.scoring import rank_leads, soft_link_reason
from transforms.features import build_entity_features, resolve_and_build
from transforms.load import ensure_warehouse
from transforms.resolve import ResolveConfig, resolve_entities
from transforms.shop_linkage import (
    business_candidates,
    load_config,
    refresh_shop_candidates,
    score_shop_pairs,
    shop_links_for_review,
    split_shop_link,
)

AS_OF = dt.date(2026, 6, 29)
WEEKS = [AS_OF - dt.timedelta(weeks=k) for k in range(12, -1, -1)]
PHONES = ["手机", "智能手机", "老人机", "5G手机", "全网通", "大屏手机", "长续航"]
MEDICINE = ["感冒灵颗粒", "布洛芬缓释胶囊", "板蓝根颗粒", "维生素C片", "阿莫西林胶囊", "藿香正气水"]
TAGS = ["正品", "包邮", "现货", "特价", "新款", "热卖", "旗舰", "原装"]
REFERENCE = {"pharmaceuticals": 40.0, "mobile_phones": 1500.0, "auto_parts": 300.0}
BRANDS = {
    "pharmaceuticals": ["999", "仁和", "白云山", "修正"],
    "mobile_phones": ["华为", "小米", "荣耀", "vivo"],
    "auto_parts": ["博世", "壳牌", "米其林", "瓦尔塔"],
}


def shop_rows(
    rnd: random.Random,
    platform: str,
    shop_id: str,
    name: str,
    category: str,
    ship_from: str,
    *,
    opened: int = 0,
    price: float = 0.97,
    brands: list[str] | None = None,
    products: list[str] | None = None,
    uscc: str | None = None,
    listings: int = 4,
    titles: list[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Weekly snapshots of one shop's listings from week `opened` on; `titles`: (brand, title)
    pairs to list from (a ring copies its titles from shop to shop)."""
    words = products or (PHONES if category == "mobile_phones" else MEDICINE)
    rows = []
    for n in range(listings):
        brand = rnd.choice(brands or BRANDS[category])
        title = f"{brand}{rnd.choice(words)}{rnd.choice(TAGS)}{rnd.choice(TAGS)}"
        if titles:
            brand, title = titles[(n + rnd.randrange(len(titles))) % len(titles)]
        value = round(REFERENCE[category] * price * rnd.uniform(0.95, 1.05), 1)
        for week in WEEKS[opened:]:
            rows.append(
                {
                    "snapshot_date": week,
                    "platform": platform,
                    "listing_id": f"{shop_id}-{n}",
                    "shop_id": shop_id,
                    "shop_name": name,
                    "seller_uscc": uscc,
                    "ship_from_region_code": ship_from,
                    "product_category": category,
                    "brand": brand,
                    "title": title,
                    "price_cny": value,
                    "contact_hash": f"h{shop_id}",
                }
            )
    return rows


def stage_listings(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]]) -> None:
    """The rows as one delivery of listings (in bulk: tests.staging inserts row by row)."""
    ensure_warehouse(con)
    columns = [c.name for c in contracts()["listings"].staging_columns]
    frame = pl.DataFrame(
        [{c: row.get(c) for c in columns} for row in rows], infer_schema_length=None
    ).with_columns(
        pl.lit("listings.csv").alias("_file"),
        pl.lit("listings").alias("_feed"),
        pl.int_range(1, len(rows) + 1).alias("_row"),
        pl.lit(0.0).alias("_at"),
    )
    con.register("delivered", frame.to_arrow())
    con.execute("insert into staging.listings_history select * from delivered")
    con.unregister("delivered")


def background(rnd: random.Random, shops: int = 250) -> list[dict[str, Any]]:
    """`shops` ordinary shops, each its own trade name, open from the first week (a stem's
    weight is adjusted for its frequency: in a world of 30 shops, three that share one are
    10 %)."""
    counties = ["630102", "630103", "630104", "630105", "630121", "632801", "632802", "630202"]
    first = "鑫华恒金瑞德昌永宏顺祥福嘉诚宇天圣正益众博汇森辉明润锦盛隆泰丰源通利达和信美"
    second = "海天正新联益众博创汇森辉明昊晟润锦发源华泰通利丰盛隆兴达顺祥福佳美信诚宇"
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for i in range(shops):
        while (trade := rnd.choice(first) + rnd.choice(second)) in used or trade[0] == trade[1]:
            pass
        used.add(trade)
        category = ("pharmaceuticals", "mobile_phones", "auto_parts")[i % 3]
        if category == "auto_parts":
            products = ["机油", "刹车片", "雨刮器", "火花塞", "蓄电池", "轮胎"]
        else:
            products = None
        word = {"pharmaceuticals": "大药房", "mobile_phones": "数码", "auto_parts": "汽配"}
        platform = ("taobao", "pdd", "douyin", "jd")[i % 4]
        rows += shop_rows(
            rnd,
            platform,
            f"BG{i:03d}",
            f"{trade}{word[category]}",
            category,
            counties[i % len(counties)],
            products=products,
            listings=2,
        )
    return rows


@pytest.fixture
def world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    return build_world(con)


def build_world(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Background shops, a keyless ring and three traps (see the module docstring)."""
    rnd = random.Random(19)
    rows = background(rnd)
    # a keyless ring: one trade name in three dressings, three platforms, one county, cheap,
    # opened within three weeks, titles copied from shop to shop
    copied = [
        (brand, f"{brand}{product}正品特价包邮")
        for brand, product in zip(BRANDS["pharmaceuticals"], MEDICINE, strict=False)
    ]
    for platform, shop_id, name, opened in (
        ("taobao", "R1", "兴湖药店1店", 4),
        ("pdd", "R2", "兴湖药店2店", 5),
        ("douyin", "R3", "兴湖正版直营", 7),
    ):
        rows += shop_rows(
            rnd,
            platform,
            shop_id,
            name,
            "pharmaceuticals",
            "630104",
            opened=opened,
            price=0.4,
            titles=copied,
        )
    # authorised resellers of one brand, two of them in one county
    for platform, shop_id, name, county in (
        ("taobao", "A1", "华为手机专营店", "630104"),
        ("pdd", "A2", "华为数码授权店", "630104"),
        ("jd", "A3", "华为授权体验店", "632801"),
    ):
        rows += shop_rows(rnd, platform, shop_id, name, "mobile_phones", county, brands=["华为"])
    # a franchise chain: one trade name, branches in several counties, opened at other times
    for platform, shop_id, name, county, opened in (
        ("meituan", "F1", "康泰大药房1店", "630102", 0),
        ("meituan", "F2", "康泰大药房2店", "632801", 3),
        ("taobao", "F3", "康泰大药房", "630202", 10),
    ):
        rows += shop_rows(rnd, platform, shop_id, name, "pharmaceuticals", county, opened=opened)
    # a street: one county and category, own trade names, opened together
    for platform, shop_id, name in (
        ("taobao", "S1", "宏昊汽配"),
        ("pdd", "S2", "德达车品"),
        ("douyin", "S3", "宇和汽车用品"),
    ):
        rows += shop_rows(
            rnd,
            platform,
            shop_id,
            name,
            "auto_parts",
            "630105",
            opened=5,
            products=["机油", "刹车片", "雨刮器", "火花塞", "蓄电池", "轮胎"],
        )
    stage_listings(con, rows)
    return con


def entities(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = con.execute(
        "select key, entity_id from core.entity_keys where key like 'shop:%'"
    ).fetchall()
    return {key.split(":", 1)[1]: entity for key, entity in rows}


def test_stems_and_brand_stems(world: duckdb.DuckDBPyConnection) -> None:
    candidates = refresh_shop_candidates(world, AS_OF)
    stems = dict(candidates.select("key", "stem").iter_rows())
    assert {stems[f"shop:{k}"] for k in ("taobao:R1", "pdd:R2", "douyin:R3")} == {"兴湖"}
    assert stems["shop:meituan:F1"] == "康泰"
    assert stems["shop:taobao:A1"] is None  # 华为 is a brand the listings carry
    opened = dict(candidates.select("key", "opened_on").iter_rows())
    assert opened["shop:taobao:BG000"] is None and opened["shop:taobao:R1"] == WEEKS[4]


def test_a_ring_of_three_dressings_merges(world: duckdb.DuckDBPyConnection) -> None:
    resolve_entities(world, AS_OF)
    ids = entities(world)
    assert ids["taobao:R1"] == ids["pdd:R2"] == ids["douyin:R3"]
    links = shop_links_for_review(world)
    ring = links.filter(links["stem"] == "兴湖")
    assert ring.height >= 2 and ring["match_probability"].min() >= load_config().threshold
    assert set(ring["ship_from"].to_list()) == {"630104"}


def test_resellers_of_one_brand_a_franchise_chain_and_a_street_stay_apart(
    world: duckdb.DuckDBPyConnection,
) -> None:
    resolve_entities(world, AS_OF)
    ids = entities(world)
    for group in (
        ("taobao:A1", "pdd:A2", "jd:A3"),
        ("meituan:F1", "meituan:F2", "taobao:F3"),
        ("taobao:S1", "pdd:S2", "douyin:S3"),
    ):
        assert len({ids[k] for k in group}) == len(group), group
    ring = ids["taobao:R1"]
    assert sum(1 for entity in ids.values() if entity == ring) == 3  # nothing else joined it


def test_a_soft_link_never_joins_two_categories(world: duckdb.DuckDBPyConnection) -> None:
    candidates = refresh_shop_candidates(world, AS_OF)
    moved = candidates.with_columns(
        category=candidates["category"].set(candidates["key"] == "shop:douyin:R3", "books")  # type: ignore[arg-type]
    )
    pairs = score_shop_pairs(moved, load_config())
    involved = set(pairs["key_a"].to_list()) | set(pairs["key_b"].to_list())
    assert "shop:douyin:R3" not in involved
    assert (pairs["match_probability"] >= load_config().threshold).any()  # the other two link


def test_no_link_joins_two_registered_sellers(con: duckdb.DuckDBPyConnection) -> None:
    rnd = random.Random(3)
    rows = background(rnd)
    for platform, shop_id, uscc, opened in (
        ("taobao", "R1", "91630100MA7XXXXXX1", 4),
        ("pdd", "R2", "91630100MA7XXXXXX2", 5),
    ):
        rows += shop_rows(
            rnd,
            platform,
            shop_id,
            f"兴湖药店{shop_id[-1]}店",
            "pharmaceuticals",
            "630104",
            opened=opened,
            price=0.4,
            uscc=uscc,
        )
    stage_listings(con, rows)
    resolve_entities(con, AS_OF)
    ids = entities(con)
    assert ids["taobao:R1"] != ids["pdd:R2"]


def test_a_stewards_split_survives_a_rerun(world: duckdb.DuckDBPyConnection) -> None:
    resolve_entities(world, AS_OF)
    assert entities(world)["taobao:R1"] == entities(world)["douyin:R3"]
    split_shop_link(
        world, "douyin:R3", "taobao:R1", "王科长", "另一经营者", dt.datetime(2026, 7, 1)
    )
    split_shop_link(world, "pdd:R2", "douyin:R3", "王科长", "另一经营者", dt.datetime(2026, 7, 1))
    for _ in range(2):  # the next night, and the one after
        resolve_entities(world, AS_OF)
        ids = entities(world)
        assert ids["taobao:R1"] == ids["pdd:R2"] != ids["douyin:R3"]
    links = shop_links_for_review(world)
    split = set(links.filter(links["split"]).select("key_a", "key_b").iter_rows())
    assert split == {("shop:douyin:R3", "shop:taobao:R1"), ("shop:douyin:R3", "shop:pdd:R2")}


def test_linkage_can_be_switched_off(world: duckdb.DuckDBPyConnection) -> None:
    resolve_entities(world, AS_OF, ResolveConfig(link_shops=False))
    ids = entities(world)
    assert len({ids["taobao:R1"], ids["pdd:R2"], ids["douyin:R3"]}) == 3


def test_the_lead_says_it_was_built_from_shop_links(world: duckdb.DuckDBPyConnection) -> None:
    resolve_and_build(world, AS_OF)
    ring = entities(world)["taobao:R1"]
    profile = world.sql(
        "select * from features.entity_profile where entity_id = $ring", params={"ring": ring}
    ).pl()
    row = profile.row(0, named=True)
    assert row["soft_link_shops"] == 3 and row["soft_link_stem"] == "兴湖"
    assert row["soft_link_ship_from"] == "630104"
    assert row["shop_link_probability"] >= load_config().threshold
    reason = soft_link_reason(row)
    assert reason is not None
    assert reason.startswith("3家店铺字号相同（兴湖），同一发货地630104")
    assert "3 shops share the trade name 兴湖, ship from 630104" in reason
    assert f"p = {row['shop_link_probability']:.2f}" in reason
    others = world.execute(
        "select count(*) from features.entity_profile where entity_id <> ? and soft_link_shops > 0",
        [ring],
    ).fetchall()
    assert others == [(0,)]
    leads = rank_leads(
        world.sql("select * from features.entity_features").pl(),
        world.sql("select * from features.entity_profile").pl(),
    )
    lead = leads.filter(leads["lead_id"] == ring)
    assert lead.height == 1 and "字号相同（兴湖）" in lead["reasons"][0]
    assert lead["shop_link_probability"][0] == row["shop_link_probability"]
    assert leads.filter(leads["lead_id"] != ring)["shop_link_probability"].null_count() == (
        leads.height - 1
    )


def test_steward_lists_links_and_splits_one_from_the_cli(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.steward import steward_app

    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        build_world(con)
        resolve_entities(con, AS_OF)
    runner = CliRunner()
    listed = runner.invoke(steward_app, ["links", "--warehouse", str(path)])
    assert listed.exit_code == 0 and "兴湖" in listed.output and "taobao:R1" in listed.output
    split = runner.invoke(
        steward_app,
        ["split-link", "douyin:R3", "taobao:R1", "--by", "王科长", "--note", "另一经营者"],
        env={"RADAR_WAREHOUSE": str(path)},
    )
    assert split.exit_code == 0, split.output
    same = runner.invoke(
        steward_app,
        [
            "split-link",
            "taobao:R1",
            "taobao:R1",
            "--by",
            "王",
            "--note",
            "x",
            "--warehouse",
            str(path),
        ],
    )
    assert same.exit_code == 1 and "itself" in same.output
    with duckdb.connect(str(path)) as con:
        resolve_entities(con, AS_OF)
        ids = entities(con)
    assert ids["taobao:R1"] != ids["douyin:R3"]
    after = runner.invoke(steward_app, ["links", "--all", "--warehouse", str(path)])
    assert "已拆分 split" in after.output


def test_the_scores_are_splinks(world: duckdb.DuckDBPyConnection) -> None:
    """The SQL scorer gives every pair the probability Splink's predict gives it, with the
    configured m/u and the stem's term-frequency adjustment (the pairs Splink blocks, less
    those the rules around the score drop)."""
    from transforms.shop_linkage import _linker, _scratch

    candidates = refresh_shop_candidates(world, AS_OF)
    config = load_config()
    found = score_shop_pairs(candidates, config)
    predictions = _linker(_scratch(), candidates, config, trained=True).inference.predict()
    splink = pl.from_arrow(predictions.as_pyarrow_table())
    assert isinstance(splink, pl.DataFrame)
    expected = splink.select(
        pl.min_horizontal("key_l", "key_r").alias("key_a"),
        pl.max_horizontal("key_l", "key_r").alias("key_b"),
        pl.col("match_probability").cast(pl.Float64).alias("splink"),
    )
    compared = found.join(expected, on=["key_a", "key_b"], how="left")
    assert found.height >= 6 and compared["splink"].null_count() == 0  # the ring, the chain
    assert (compared["match_probability"] - compared["splink"]).abs().max() < 1e-12
    assert (found["match_probability"] >= config.threshold).sum() >= 2


BUSINESS_USCC = "92630104MA7BUS0001"


def with_register(
    con: duckdb.DuckDBPyConnection, businesses: list[tuple[str, str, str, str]]
) -> None:
    """Registered businesses (uscc, name, county, category), each with one inspection of its
    category (what gives a business its category)."""
    from tests.staging import stage

    stage(
        con,
        entities=[
            {
                "uscc": uscc,
                "name": name,
                "region_code": county,
                "entity_type": "individual_business",
                "status": "active",
            }
            for uscc, name, county, _ in businesses
        ],
        inspections=[
            {
                "inspection_id": f"I-{uscc}",
                "inspected_on": AS_OF - dt.timedelta(days=40),
                "entity_uscc": uscc,
                "entity_name": name,
                "region_code": county,
                "product_category": category,
                "result": "pass",
                "inspection_type": "double_random",
            }
            for uscc, name, county, category in businesses
        ],
    )


def test_a_business_and_its_storefront_link(con: duckdb.DuckDBPyConnection) -> None:
    """A shop whose trade name is a registered business's, in its category, shipping from its
    county, is its storefront; a shop of that trade name in another category, a brand's shops
    and a trade name many shops use are not."""
    rnd = random.Random(7)
    rows = background(rnd)
    rows += shop_rows(rnd, "taobao", "M1", "昌湟大药房", "pharmaceuticals", "630104", opened=3)
    rows += shop_rows(rnd, "pdd", "M2", "昌湟数码", "mobile_phones", "630104", opened=3)
    for platform, shop_id, name in (("taobao", "A1", "华为手机专营店"), ("jd", "A2", "华为授权店")):
        rows += shop_rows(rnd, platform, shop_id, name, "mobile_phones", "630104", brands=["华为"])
    counties = ["630102", "630103", "630105", "630121", "632801", "632802", "630202", "630203"]
    for i, county in enumerate(counties):  # a common trade name: shops of many owners
        rows += shop_rows(
            rnd, "meituan", f"G{i}", f"金鼎大药房{i + 1}店", "pharmaceuticals", county
        )
    stage_listings(con, rows)
    with_register(
        con,
        [
            (BUSINESS_USCC, "西宁市城西区昌湟医药有限公司", "630104", "pharmaceuticals"),
            ("92630104MA7BUS0002", "西宁华为通讯器材经营部", "630104", "mobile_phones"),
            ("92630102MA7BUS0003", "城东区金鼎药店", "630102", "pharmaceuticals"),
        ],
    )
    resolve_entities(con, AS_OF)
    ids = dict(con.execute("select key, entity_id from core.entity_keys").fetchall())
    assert ids["shop:taobao:M1"] == ids[f"uscc:{BUSINESS_USCC}"]
    assert ids["shop:pdd:M2"] != ids[f"uscc:{BUSINESS_USCC}"]  # another category
    for shop in ("shop:taobao:A1", "shop:jd:A2"):  # 华为 is a brand the listings carry
        assert ids[shop] != ids["uscc:92630104MA7BUS0002"]
    assert ids["shop:meituan:G0"] != ids["uscc:92630102MA7BUS0003"]  # 金鼎: eight shops
    links = shop_links_for_review(con)
    link = links.filter(links["key_b"] == f"uscc:{BUSINESS_USCC}").row(0, named=True)
    assert link["key_a"] == "shop:taobao:M1" and link["stem"] == "昌湟"
    assert link["name_b"] == "西宁市城西区昌湟医药有限公司" and link["ship_from"] == "630104"
    assert links.height == links.filter(links["stem"] == "昌湟").height  # nothing else linked
    build_entity_features(con, AS_OF)
    profile = con.sql(
        "select * from features.entity_profile where entity_id = $e",
        params={"e": ids["shop:taobao:M1"]},
    ).pl()
    reason = soft_link_reason(profile.row(0, named=True))
    assert reason is not None and reason.startswith(
        "1家网店与登记主体字号相同（昌湟），发货地与登记地同为630104，关联概率0.9"
    )
    assert "1 shop shares the trade name 昌湟 with the registered business" in reason


def test_a_shop_like_two_registered_businesses_links_to_neither(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rnd = random.Random(8)
    rows = background(rnd)
    rows += shop_rows(rnd, "taobao", "M1", "昌湟大药房", "pharmaceuticals", "630104", opened=3)
    stage_listings(con, rows)
    with_register(
        con,
        [
            (BUSINESS_USCC, "西宁市城西区昌湟医药有限公司", "630104", "pharmaceuticals"),
            ("92630104MA7BUS0004", "城西区昌湟药店", "630104", "pharmaceuticals"),
        ],
    )
    resolve_entities(con, AS_OF)
    ids = dict(con.execute("select key, entity_id from core.entity_keys").fetchall())
    assert ids["shop:taobao:M1"] not in (
        ids[f"uscc:{BUSINESS_USCC}"],
        ids["uscc:92630104MA7BUS0004"],
    )


def test_a_stewards_split_of_a_business_link_survives_a_rerun(
    con: duckdb.DuckDBPyConnection,
) -> None:
    rnd = random.Random(9)
    rows = background(rnd)
    rows += shop_rows(rnd, "taobao", "M1", "昌湟大药房", "pharmaceuticals", "630104", opened=3)
    stage_listings(con, rows)
    with_register(
        con, [(BUSINESS_USCC, "西宁市城西区昌湟医药有限公司", "630104", "pharmaceuticals")]
    )
    resolve_entities(con, AS_OF)
    key = f"uscc:{BUSINESS_USCC}"
    ids = dict(con.execute("select key, entity_id from core.entity_keys").fetchall())
    assert ids["shop:taobao:M1"] == ids[key]
    split_shop_link(con, key, "taobao:M1", "王科长", "另一经营者", dt.datetime(2026, 7, 1))
    for _ in range(2):
        resolve_entities(con, AS_OF)
        ids = dict(con.execute("select key, entity_id from core.entity_keys").fetchall())
        assert ids["shop:taobao:M1"] != ids[key]


def test_a_ring_is_no_registered_business_storefront(world: duckdb.DuckDBPyConnection) -> None:
    """A registered business whose trade name a keyless ring of its county and category uses
    is not joined to the ring: a seller hiding behind several storefronts does not trade under
    its registered name (the ring stays one lead of its own)."""
    with_register(world, [(BUSINESS_USCC, "城西区兴湖药店", "630104", "pharmaceuticals")])
    resolve_entities(world, AS_OF)
    ids = dict(world.execute("select key, entity_id from core.entity_keys").fetchall())
    ring = {ids[f"shop:{k}"] for k in ("taobao:R1", "pdd:R2", "douyin:R3")}
    assert len(ring) == 1 and ids[f"uscc:{BUSINESS_USCC}"] not in ring
    business = world.sql("select key, stem, ship_from from core.business_candidates").fetchall()
    assert business == [(f"uscc:{BUSINESS_USCC}", "兴湖", "630104")]  # compared, not linked
    assert not shop_links_for_review(world)["key_b"].str.starts_with("uscc:").any()


def test_ship_from_is_graded_county_prefecture_elsewhere(con: duckdb.DuckDBPyConnection) -> None:
    """A business's storefront compared on where it ships from: its county links; another
    county of its prefecture, or another prefecture, scores lower and does not link alone."""
    rnd = random.Random(10)
    rows = background(rnd)
    rows += shop_rows(rnd, "taobao", "M1", "昌湟大药房", "pharmaceuticals", "630104", opened=3)
    stage_listings(con, rows)
    with_register(
        con, [(BUSINESS_USCC, "西宁市城西区昌湟医药有限公司", "630104", "pharmaceuticals")]
    )
    candidates = refresh_shop_candidates(con, AS_OF)
    businesses = business_candidates(con, AS_OF, candidates)
    scores = []
    for county in ("630104", "630105", "632801"):  # its county, its prefecture, elsewhere
        moved = candidates.with_columns(
            ship_from=candidates["ship_from"].set(candidates["key"] == "shop:taobao:M1", county)  # type: ignore[arg-type]
        )
        pairs = score_shop_pairs(moved, load_config(), businesses=businesses)
        pair = pairs.filter(pairs["key_a"] == "shop:taobao:M1")
        assert pair["key_b"].to_list() == [f"uscc:{BUSINESS_USCC}"]
        scores.append(pair["match_probability"][0])
    county, prefecture, elsewhere = scores
    assert county >= load_config().threshold > prefecture > elsewhere
