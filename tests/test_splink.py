"""Probabilistic name matching (Splink) inside entity resolution, on tiny hand-written feeds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import polars as pl
import pytest

from demo_world.evaluate_linkage import linkage_quality, record_attribution
from demo_world.name_truth import same_business_pairs
from tests.staging import stage
from transforms.resolve import ResolveConfig, key_name, resolve_entities
from transforms.splink_match import (
    load_config,
    name_match_edges_by_day,
    pinyin_keys,
    refresh_name_candidates,
    score_name_pairs,
)

AS_OF = dt.date(2026, 6, 30)
DAY = dt.date(2026, 3, 2)


def register(uscc: str, name: str, region: str) -> dict[str, Any]:
    return {"uscc": uscc, "name": name, "region_code": region}


def inspection(i: str, name: str, uscc: str | None, region: str, category: str) -> dict[str, Any]:
    return {
        "inspection_id": i,
        "inspected_on": DAY,
        "region_code": region,
        "entity_name": name,
        "entity_uscc": uscc,
        "product_category": category,
    }


def complaint(i: str, name: str, region: str, category: str, **more: Any) -> dict[str, Any]:
    return {
        "complaint_id": i,
        "received_at": dt.datetime(2026, 3, 2, 10, 0),
        "region_code": region,
        "product_category": category,
        "subject_name": name,
        **more,
    }


def entity_of(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """(feed:record_id) -> entity_id."""
    rows = con.execute("select feed, record_id, entity_id from core.record_entities").fetchall()
    return {f"{feed}:{record}": entity for feed, record, entity in rows}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("三江手机好物店（快手）", "三江手机好物"),
        ("淘宝上的宇美车品的店", "宇美车品的"),
        ("抖音店铺康泰大药房", "康泰大药房"),
        ("佳海日用品有限责任公司（共和）", "佳海日用品"),
        ("湟中区 绿丰种业经营部", "绿丰种业"),
        ("拼多多上宇美车品", "宇美车品"),
        ("（绿丰种业）", "绿丰种业"),  # nothing left outside the brackets: the whole name
        ("（店）", None),
    ],
)
def test_key_name_drops_bracketed_notes_and_platform_wording(name: str, key: str | None) -> None:
    assert key_name(name) == key


def keys_of(con: duckdb.DuckDBPyConnection, feed: str, record_id: str) -> list[str]:
    rows = con.execute(
        "select key from core.record_keys where feed = ? and record_id = ? order by rank, key",
        [feed, record_id],
    ).fetchall()
    return [k for (k,) in rows]


def test_every_feed_links_through_its_hard_keys(con: duckdb.DuckDBPyConnection) -> None:
    uscc = "92630102MA0000006X"
    listing = {"snapshot_date": DAY, "platform": "taobao", "product_category": "seeds"}
    stage(
        con,
        entities=[register(uscc, "城东区绿丰种业经营部", "630102")],
        listings=[
            {
                **listing,
                "listing_id": "L1",
                "shop_id": "S1",
                "shop_name": "绿丰",
                "seller_uscc": uscc,
            },
            {
                **listing,
                "listing_id": "L2",
                "shop_id": "S2",
                "shop_name": "丰收",
                "contact_hash": "H",
            },
            {
                **listing,
                "listing_id": "L3",
                "shop_id": "S1",
                "contact_hash": "H",
                "shop_name": "绿丰",
            },
        ],
        complaints=[
            # a complaint naming a shop id links by the shop, whatever name it writes
            complaint("C1", "随便写的名字", "630102", "seeds", platform="taobao", shop_id="S2"),
            complaint("C2", "别的名字", "630102", "seeds", subject_uscc=uscc),
        ],
        inspections=[inspection("I1", "另一个名字", uscc, "630102", "seeds")],
        credit=[{"record_id": "K1", "decided_on": DAY, "uscc": uscc, "entity_name": "绿丰"}],
        outcomes=[
            {"outcome_id": "O1", "closed_on": DAY, "platform": "taobao", "shop_id": "S2"},
            {"outcome_id": "O2", "closed_on": DAY, "entity_uscc": uscc},
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    records = [
        "entities:" + uscc,
        "listings:taobao:S1",
        "listings:taobao:S2",
        "complaints:C1",
        "complaints:C2",
        "inspections:I1",
        "credit:K1",
        "outcomes:O1",
        "outcomes:O2",
    ]
    assert len({entities[r] for r in records}) == 1
    assert keys_of(con, "complaints", "C1") == ["shop:taobao:S2"]
    assert keys_of(con, "listings", "taobao:S1") == [
        "shop:taobao:S1",
        f"uscc:{uscc}",
        "contact:H",
        "name:taobao:绿丰",
    ]


def test_a_credit_record_without_region_is_named_in_the_prefecture_of_its_uscc(
    con: duckdb.DuckDBPyConnection,
) -> None:
    unregistered = "92630105MA0000007X"  # chars 3-8: 630105, a county of Xining (630100)
    stage(
        con,
        credit=[
            {
                "record_id": "K1",
                "decided_on": DAY,
                "entity_name": "绿丰种业",
                "region_code": "630104",
            },
            {"record_id": "K2", "decided_on": DAY, "entity_name": "鑫华商行", "uscc": unregistered},
            {"record_id": "K3", "decided_on": DAY, "entity_name": "无处可寻商行"},
        ],
        inspections=[
            inspection("I1", "城西区绿丰种业经营部", None, "630104", "seeds"),
            inspection("I2", "鑫华商行", None, "630103", "seeds"),
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert keys_of(con, "credit", "K1") == ["name:630100:绿丰种业"]
    assert entities["credit:K1"] == entities["inspections:I1"]
    assert keys_of(con, "credit", "K2") == [f"uscc:{unregistered}", "name:630100:鑫华"]
    assert entities["credit:K2"] == entities["inspections:I2"]
    assert keys_of(con, "credit", "K3") == [] and "credit:K3" not in entities


def test_one_name_in_two_prefectures_is_two_businesses(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        inspections=[
            inspection("I1", "鑫华种子经营部", None, "630102", "seeds"),
            inspection("I2", "鑫华种子经营部", None, "632801", "seeds"),
            inspection("I3", "鑫华种子商行", None, "630105", "seeds"),
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert entities["inspections:I1"] == entities["inspections:I3"]
    assert entities["inspections:I1"] != entities["inspections:I2"]


def test_records_dated_after_the_as_of_date_make_no_keys(con: duckdb.DuckDBPyConnection) -> None:
    later = AS_OF + dt.timedelta(days=1)
    listing = {"platform": "taobao", "product_category": "seeds", "contact_hash": "H"}
    stage(
        con,
        listings=[
            {
                **listing,
                "snapshot_date": AS_OF,
                "listing_id": "L1",
                "shop_id": "S1",
                "shop_name": "宇美车品",
            },
            {
                **listing,
                "snapshot_date": later,
                "listing_id": "L2",
                "shop_id": "S2",
                "shop_name": "丰收农资",
            },
        ],
        complaints=[
            {
                **complaint("C1", "鑫华商行", "630102", "seeds"),
                "received_at": dt.datetime(2026, 7, 1),
            }
        ],
        inspections=[
            {**inspection("I1", "鑫华商行", None, "630102", "seeds"), "inspected_on": later}
        ],
        credit=[
            {
                "record_id": "K1",
                "decided_on": later,
                "entity_name": "鑫华商行",
                "uscc": "92630102MA0000008X",
            }
        ],
        outcomes=[{"outcome_id": "O1", "closed_on": later, "platform": "taobao", "shop_id": "S1"}],
    )
    resolve_entities(con, AS_OF)
    keys = con.execute("select distinct key from core.record_keys order by key").fetchall()
    assert keys == [("contact:H",), ("name:taobao:宇美车品",), ("shop:taobao:S1",)]


def test_names_that_differ_in_one_character_or_a_number_do_not_link(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stage(
        con,
        complaints=[
            # one character differs, and it does not sound alike (丰 feng, 荣 rong)
            complaint("C1", "绿丰种业", "630106", "seeds"),
            complaint("C2", "绿荣种业", "630106", "seeds"),
            # two branches of one chain, numbered
            complaint("C3", "天信大药房1店", "630106", "pharmaceuticals"),
            complaint("C4", "天信大药房12店", "630106", "pharmaceuticals"),
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert entities["complaints:C1"] != entities["complaints:C2"]
    assert entities["complaints:C3"] != entities["complaints:C4"]
    pairs = score_name_pairs(refresh_name_candidates(con, AS_OF), load_config()).rows()
    assert [(a, b) for a, b, p in pairs if p < load_config().threshold] == [
        ("name:630100:天信大药房1", "name:630100:天信大药房12"),
        ("name:630100:绿丰种业", "name:630100:绿荣种业"),
    ]


def test_pinyin_keys_read_every_character_without_tones() -> None:
    keys = pinyin_keys(pl.Series(["龙太", "长隆", "鑫源1号", "龙太"])).rows_by_key(
        "match_name", named=True, unique=True
    )
    assert list(keys) == ["龙太", "长隆", "鑫源1号"]  # once per distinct name
    assert keys["龙太"]["readings"] == ["long", "ta|tai"]  # every reading of 太
    assert keys["长隆"]["start_sounds"] == ["chang long", "zhang long"]
    # a digit or letter is its own reading
    assert keys["鑫源1号"]["readings"] == ["xin|xun", "yuan", "1", "hao|xiao"]


def level_probability(name_level: str) -> float:
    """The match probability of a pair at `name_level` of the name comparison whose keys share
    a category and a county and carry no numbers."""
    config = load_config()
    odds = config.prior / (1 - config.prior)
    for mu in (config.name[name_level], config.categories["shared"], config.counties["shared"]):
        odds *= mu.m / mu.u
    return odds / (1 + odds)


@pytest.mark.parametrize(
    ("name_a", "name_b", "level"),
    [
        ("鑫源种业", "新元种业", "sound_alike"),  # xin yuan: both characters differ
        ("龙太种业", "隆泰种业", "sound_alike"),  # long tai (太 also reads ta)
        ("绿丰种业", "绿峰种业", "sound_alike"),  # feng
        ("鑫源种业", "鑫园种业", "sound_alike"),  # 园 reads yuan as well as wan
        ("鑫源种业", "鑫泰种业", "one_character"),  # yuan / tai
        ("鑫源种业", "新泰种业", "same_start"),  # xin sounds alike, yuan / tai do not: no level
    ],
)
def test_names_whose_differing_characters_sound_alike_score_at_the_sound_alike_level(
    con: duckdb.DuckDBPyConnection, name_a: str, name_b: str, level: str
) -> None:
    stage(
        con,
        complaints=[
            complaint("C1", name_a, "630106", "seeds"),
            complaint("C2", name_b, "630106", "seeds"),
        ],
    )
    resolve_entities(con, AS_OF)
    pairs = score_name_pairs(refresh_name_candidates(con, AS_OF), load_config())
    entities = entity_of(con)
    if level == "same_start":  # not even scored: no blocking rule pairs them
        assert pairs.height == 0 and entities["complaints:C1"] != entities["complaints:C2"]
        return
    ((_, _, probability),) = pairs.rows()
    assert probability == pytest.approx(level_probability(level))
    linked = entities["complaints:C1"] == entities["complaints:C2"]
    assert linked == (level == "sound_alike")


def test_a_sound_alike_name_never_joins_two_registered_businesses(
    con: duckdb.DuckDBPyConnection,
) -> None:
    a, b = "92630106MA0000011X", "92630106MA0000012X"
    stage(
        con,
        entities=[
            register(a, "湟中区鑫源种业经营部", "630106"),
            register(b, "湟中区新元种业经营部", "630106"),
        ],
        inspections=[
            inspection("I1", "湟中区鑫源种业经营部", a, "630106", "seeds"),
            inspection("I2", "湟中区新元种业经营部", b, "630106", "seeds"),
        ],
        complaints=[complaint("C1", "湟中新元种业", "630106", "seeds")],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    matches = con.execute("select key_a, key_b from core.name_matches").fetchall()
    assert matches == [("name:630100:新元种业", "name:630100:鑫源种业")]  # they sound alike
    assert entities["inspections:I1"] != entities["inspections:I2"]  # but are two USCCs
    assert entities["complaints:C1"] == entities["inspections:I2"]  # the exact name wins


def test_a_trade_name_that_many_businesses_start_with_does_not_link(
    con: duckdb.DuckDBPyConnection,
) -> None:
    others = ["马记烟酒", "马记面馆", "马记牛肉", "马记烧烤", "马记粮油", "马记茶叶", "马记百货"]
    stage(
        con,
        complaints=[
            complaint(f"C{i}", name, "630102", "food") for i, name in enumerate(["马记", *others])
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert len({entities[f"complaints:C{i}"] for i in range(len(others) + 1)}) == 8
    # with fewer names starting 马记 the same pair links
    con.execute("delete from staging.complaints_history where complaint_id not in ('C0', 'C1')")
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert entities["complaints:C0"] == entities["complaints:C1"]


def test_differently_written_names_of_one_business_link(con: duckdb.DuckDBPyConnection) -> None:
    uscc = "92630106MA0000001X"
    stage(
        con,
        entities=[register(uscc, "西宁市湟中区绿丰种子经营部", "630106")],
        inspections=[inspection("I1", "西宁市湟中区绿丰种子经营部", uscc, "630106", "seeds")],
        complaints=[
            complaint("C1", "湟中绿丰", "630106", "seeds"),  # the trade name alone
            complaint("C2", "绿丰种子门市部（湟中）", "630106", "seeds"),
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert entities["complaints:C1"] == entities["inspections:I1"]
    assert entities["complaints:C2"] == entities["inspections:I1"]
    assert entities["entities:" + uscc] == entities["inspections:I1"]


def test_similar_generic_names_of_two_businesses_stay_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stage(
        con,
        entities=[register("92630102MA0000002X", "城东区鑫华种子经营部", "630102")],
        inspections=[
            inspection("I1", "城东区鑫华种子经营部", "92630102MA0000002X", "630102", "seeds")
        ],
        complaints=[
            complaint("C1", "鑫华汽配", "630102", "auto_parts"),  # same trade name, other trade
            complaint("C2", "鑫华种业", "630102", "auto_parts"),  # one character off, other goods
            complaint("C3", "鑫华", "632801", "seeds"),  # another prefecture
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    seeds = entities["inspections:I1"]
    assert all(entities[f"complaints:C{i}"] != seeds for i in (1, 2, 3))


def test_a_matched_name_never_joins_two_registered_businesses(
    con: duckdb.DuckDBPyConnection,
) -> None:
    a, b = "91630202MA0000003X", "92630202MA0000004X"
    stage(
        con,
        entities=[
            register(a, "海东天信动物保健有限公司", "630202"),
            register(b, "乐都区天信兽药经营部", "630202"),
        ],
        inspections=[
            inspection("I1", "海东天信动物保健有限公司", a, "630202", "veterinary_drugs"),
            inspection("I2", "乐都区天信兽药经营部", b, "630202", "veterinary_drugs"),
        ],
        complaints=[complaint("C1", "乐都天信", "630202", "veterinary_drugs")],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert entities["inspections:I1"] != entities["inspections:I2"]
    # 天信 fits both registered businesses equally: it is given to neither.
    assert entities["complaints:C1"] not in (entities["inspections:I1"], entities["inspections:I2"])
    matches = con.execute("select key_a, key_b from core.name_matches order by all").fetchall()
    assert ("name:630200:天信", "name:630200:天信兽药") in matches


def test_a_complaint_naming_a_shop_links_to_that_shop(con: duckdb.DuckDBPyConnection) -> None:
    listing = {"snapshot_date": DAY, "platform": "taobao", "product_category": "auto_parts"}
    stage(
        con,
        listings=[
            {
                **listing,
                "listing_id": "L1",
                "shop_id": "TB1",
                "shop_name": "宇美车品的店",
                "contact_hash": "H1",
            },
            {
                **listing,
                "listing_id": "L2",
                "shop_id": "TB2",
                "shop_name": "宇美车品小店",
                "contact_hash": "H2",
            },
        ],
        complaints=[
            complaint("C1", "淘宝上的宇美车品的店", "630103", "auto_parts", platform="taobao")
        ],
    )
    resolve_entities(con, AS_OF)
    entities = entity_of(con)
    assert entities["complaints:C1"] == entities["listings:taobao:TB1"]
    # two shops are never one operator through their names alone
    assert entities["listings:taobao:TB1"] != entities["listings:taobao:TB2"]


def test_name_matching_can_be_switched_off(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        entities=[register("92630106MA0000001X", "湟中区绿丰种子经营部", "630106")],
        inspections=[
            inspection("I1", "湟中区绿丰种子经营部", "92630106MA0000001X", "630106", "seeds")
        ],
        complaints=[complaint("C1", "湟中绿丰", "630106", "seeds")],
    )
    resolve_entities(con, AS_OF, ResolveConfig(match_names=False))
    entities = entity_of(con)
    assert entities["complaints:C1"] != entities["inspections:I1"]


def test_matching_is_deterministic() -> None:
    def run() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        con = duckdb.connect(":memory:")
        stage(
            con,
            entities=[
                register("92630106MA0000001X", "湟中区绿丰种子经营部", "630106"),
                register("92630106MA0000005X", "湟中区绿峰农资商行", "630106"),
            ],
            complaints=[
                complaint(f"C{i}", name, "630106", "seeds")
                for i, name in enumerate(["绿丰", "绿峰种子", "湟中绿丰种子门市部", "绿丰农资"])
            ],
        )
        resolve_entities(con, AS_OF)
        keys = con.execute("select key, entity_id from core.entity_keys order by key").fetchall()
        edges = con.execute("select * from core.name_matches").fetchall()
        con.close()
        return keys, edges

    assert run() == run()


def test_scored_pairs_stay_within_a_scope(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        complaints=[
            complaint("C1", "绿丰种子", "630106", "seeds"),
            complaint("C2", "绿丰", "632801", "seeds"),  # another prefecture
            complaint("C3", "绿峰种子", "630106", "seeds"),
        ],
    )
    resolve_entities(con, AS_OF, ResolveConfig(match_names=False))
    pairs = score_name_pairs(refresh_name_candidates(con, AS_OF), load_config())
    assert pairs.select("key_a", "key_b").rows() == [
        ("name:630100:绿丰种子", "name:630100:绿峰种子")
    ]
    assert pairs["match_probability"].dtype == pl.Float64


def test_linkage_quality_counts_keys_in_the_main_entity_and_false_merges(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute("create schema core")
    con.execute(
        "create table core.entity_keys as select * from (values "
        "('shop:taobao:T1', 'E1'), ('shop:jd:J1', 'E1'), ('shop:pdd:P1', 'E2'),"
        "('uscc:U1', 'E1'), ('name:630100:绿丰种子', 'E1'), ('name:630100:鑫华', 'E3'),"
        "('shop:douyin:D1', 'E3')) t(key, entity_id)"
    )
    truth = {
        "operators": [
            {
                "operator_id": "OP1",
                "kind": "online_ring",
                "shop_keys": ["taobao:T1", "jd:J1", "pdd:P1"],
                "usccs": ["U1"],
                "names": ["湟中区绿丰种子经营部", "不存在的店"],
            },
            {"operator_id": "OP2", "kind": "offline_seller", "names": ["鑫华商行"]},
        ],
        "decoys": [{"decoy_id": "DC1", "shop_keys": ["douyin:D1"], "names": []}],
    }
    quality = linkage_quality(con, truth)
    first = quality["operators"][0]
    assert (first["shops"], first["shops_in_main"], first["usccs_in_main"]) == (3, 2, 1)
    assert (first["names"], first["names_in_main"], first["entities"]) == (1, 1, 2)
    assert quality["summary"]["rings"] == 1 and quality["summary"]["rings_complete"] == 0
    assert quality["false_merges"] == [{"entity_id": "E3", "operators": ["OP2"], "decoys": ["DC1"]}]


def test_record_attribution_follows_each_record_to_the_entity_of_its_business(
    con: duckdb.DuckDBPyConnection,
) -> None:
    con.execute("create schema core")
    con.execute(
        "create table core.entity_keys as select * from (values "
        "('uscc:U1', 'E1'), ('name:630100:鑫源', 'E1'), ('uscc:U2', 'E2'),"
        "('shop:taobao:T1', 'E3'), ('name:630100:新元', 'E4')) t(key, entity_id)"
    )
    con.execute(
        "create table core.record_entities as select * from (values "
        "('complaints', 'C1', 'E1'), ('complaints', 'C2', 'E2'), ('complaints', 'C3', 'E4'),"
        "('inspections', 'I1', 'E1'), ('complaints', 'C5', 'E3')) t(feed, record_id, entity_id)"
    )
    written = pl.DataFrame(
        {
            "feed": ["complaints", "complaints", "complaints", "inspections", "complaints"],
            "record_id": ["C1", "C2", "C3", "I1", "C4"],
            # C2 is about U1 but went to U2's entity; C3 reached no business; C4 no entity
            "business": ["uscc:U1", "uscc:U1", "uscc:U1", "uscc:U1", "shop:taobao:T1"],
        }
    )
    truth = {"operators": [{"operator_id": "OP1", "shop_keys": ["taobao:T1"], "usccs": []}]}
    assert record_attribution(con, written, truth) == {
        "records": 5,
        "records_in_own_entity_share": 0.4,
        "operator_records": 1,
        "operator_records_in_own_entity_share": 0.0,
        "records_in_another_business": 1,
        "operator_records_in_another_business": 0,
    }


def test_same_business_pairs_are_keys_of_one_scope_carried_by_records_of_one_business() -> None:
    record_keys = pl.DataFrame(
        {
            "feed": ["complaints", "complaints", "inspections", "entities", "complaints"],
            "record_id": ["C1", "C2", "I1", "U1", "C3"],
            "key": [
                "name:630100:新元种业",
                "name:630100:鑫源",
                "uscc:U1",
                "name:630100:鑫源种业",
                "name:630200:鑫源种业",
            ],
            "key_kind": ["name", "name", "uscc", "name", "name"],
        }
    )
    businesses = pl.DataFrame(
        {
            "feed": ["complaints", "complaints", "inspections", "complaints"],
            "record_id": ["C1", "C2", "I1", "C3"],
            "business": ["uscc:U1", "uscc:U2", "uscc:U1", "uscc:U1"],
        }
    )
    candidates = pl.DataFrame(
        {
            "key": record_keys.filter(pl.col("key_kind") == "name")["key"],
            "scope": ["630100", "630100", "630100", "630200"],
        }
    )
    # the register row U1 names its own business; C3 is about U1 but in another scope
    assert same_business_pairs(record_keys, businesses, candidates).rows() == [
        ("name:630100:新元种业", "name:630100:鑫源种业")
    ]


def test_the_name_matches_of_many_days_scored_in_one_pass_are_each_days_own(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """Issue 22: training scores the candidates of all its feature days in one Splink pass;
    each day gets exactly the edges a pass of its own finds (pairs blocked within a day, a
    pair's probability from its own rows: here the later day's categories and start peers
    differ, and so do its probabilities)."""
    later = dt.datetime(2026, 6, 1, 10, 0)
    stage(
        con,
        complaints=[
            complaint("C1", "湟中绿丰", "630106", "seeds"),
            complaint("C2", "湟中绿峰", "630106", "seeds"),
            complaint("C3", "鑫源种业", "630106", "seeds"),
            complaint("C4", "鑫园种业", "630106", "fertiliser", received_at=later),
            complaint("C5", "湟中绿丰", "630106", "fertiliser", received_at=later),
            complaint("C6", "湟中绿风", "630106", "fertiliser", received_at=later),
        ],
    )
    config = load_config()
    candidates, alone = {}, {}
    for day in (DAY, AS_OF):
        resolve_entities(con, day)
        candidates[day] = refresh_name_candidates(con, day)
        alone[day] = score_name_pairs(candidates[day], config, at_least=config.threshold).sort(
            ["match_probability", "key_a", "key_b"], descending=[True, False, False]
        )
    together = name_match_edges_by_day(candidates, config)
    assert alone[DAY].height >= 1 and alone[AS_OF].height > alone[DAY].height
    for day in (DAY, AS_OF):
        assert together[day].rows() == alone[day].rows(), day
