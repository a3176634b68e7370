"""Name normalisation and each linking rule of entity resolution, on tiny hand-written keys."""

from __future__ import annotations

from datetime import date

import duckdb
import polars as pl
import pytest

from tests.staging import stage
from transforms.names import normalize_name
from transforms.resolve import ResolveConfig, entity_id_for, link_keys, refresh_normalized_names


@pytest.mark.parametrize(
    ("name", "norm"),
    [
        ("湟中区 绿丰种业经营部", "绿丰种业"),
        ("（西宁）绿丰种业有限公司", "绿丰种业"),
        ("青海省西宁市城东区鑫源汽配商行", "鑫源汽配"),
        ("格尔木市昆仑石化有限责任公司", "昆仑石化"),
        ("ＡＢＣ 手机 专营店", "abc手机"),
        ("店", None),
    ],
)
def test_normalize_name(name: str, norm: str | None) -> None:
    assert normalize_name(name) == norm


@pytest.mark.parametrize(
    ("name", "norm"),
    [
        (None, None),
        ("", None),
        # full-width letters and digits fold to half-width, upper to lower case
        ("ＤＥＬＬ电脑８８号", "dell电脑88号"),
        # every kind of bracket, and spaces, ideographic spaces and separators go
        ("【城北】鑫源·汽配－商行", "鑫源汽配"),
        ("《鑫源》 汽配\u3000配件_商行", "鑫源汽配配件"),
        ("鑫源「汽配」—商行", "鑫源汽配"),
        # region prefixes: province, prefecture, county, full or short, stacked
        ("青海鑫源商行", "鑫源"),
        ("海东市乐都区鑫源商行", "鑫源"),
        ("海东鑫源商行", "鑫源"),
        ("海西蒙古族藏族自治州格尔木市鑫源商贸有限公司", "鑫源商贸"),
        ("海西鑫源商行", "鑫源"),
        ("大柴旦行政委员会鑫源商行", "鑫源"),
        ("民和回族土族自治县鑫源商行", "鑫源"),
        ("民和鑫源商行", "鑫源"),
        ("互助鑫源商行", "鑫源"),
        # the short form of every autonomous county, and with 县 / 州 after it
        ("化隆鑫源商行", "鑫源"),
        ("循化鑫源商行", "鑫源"),
        ("门源鑫源商行", "鑫源"),
        ("河南鑫源商行", "鑫源"),
        ("互助县绿源农民专业合作社", "绿源"),
        ("大通县鑫源商行", "鑫源"),
        ("海北州鑫源商行", "鑫源"),
        # legal forms, longest first, stacked
        ("青海绿源股份有限公司", "绿源"),
        ("绿丰种业商行有限公司", "绿丰种业"),
        ("城东区鑫源分公司", "鑫源"),
        ("绿源农民专业合作社", "绿源"),
        ("鑫源个体工商户", "鑫源"),
        ("鑫源汽配厂", "鑫源汽配"),
        # a prefix or a legal form is only stripped when something is left
        ("西宁", "西宁"),
        ("城东区店", None),
    ],
)
def test_each_normalisation_step(name: str | None, norm: str | None) -> None:
    assert normalize_name(name) == norm


def test_normalised_names_keep_the_original(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        complaints=[
            {"complaint_id": "C1", "subject_name": "湟中区 绿丰种业经营部"},
            {"complaint_id": "C2", "subject_name": "（店）"},
        ],
        entities=[{"uscc": "U1", "name": "（西宁）绿丰种业有限公司"}],
        listings=[{"listing_id": "L1", "shop_name": "淘宝上的宇美车品的店"}],
    )
    refresh_normalized_names(con)
    rows = con.execute("select name, norm from core.normalized_names order by name").fetchall()
    assert rows == [
        ("淘宝上的宇美车品的店", "宇美车品的"),
        ("湟中区 绿丰种业经营部", "绿丰种业"),
        ("（西宁）绿丰种业有限公司", "绿丰种业"),
    ]


def keys(rows: list[tuple[str, str, str, int]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["feed", "record_id", "key", "rank"], orient="row")
    return frame.with_columns(pl.col("key").str.split(":").list.first().alias("key_kind"))


def groups(linked: pl.DataFrame) -> set[frozenset[str]]:
    return {frozenset(g) for g in linked.group_by("entity_id").agg("key")["key"].to_list()}


def test_shops_sharing_a_contact_are_one_entity() -> None:
    linked = link_keys(
        keys(
            [
                ("listings", "taobao:S1", "shop:taobao:S1", 1),
                ("listings", "taobao:S1", "contact:H1", 3),
                ("listings", "jd:S2", "shop:jd:S2", 1),
                ("listings", "jd:S2", "contact:H1", 3),
                ("listings", "pdd:S3", "shop:pdd:S3", 1),
            ]
        ),
        ResolveConfig(),
    )
    assert groups(linked) == {
        frozenset({"shop:taobao:S1", "shop:jd:S2", "contact:H1"}),
        frozenset({"shop:pdd:S3"}),
    }


def test_contact_shared_by_many_shops_is_not_a_link() -> None:
    rows = []
    for i in range(5):
        rows += [
            ("listings", f"t:S{i}", f"shop:t:S{i}", 1),
            ("listings", f"t:S{i}", "contact:DEPOT", 3),
        ]
    linked = link_keys(keys(rows), ResolveConfig(max_shops_per_contact=3))
    assert len(groups(linked)) == 5


def test_contact_shared_by_as_many_shops_as_the_limit_still_links() -> None:
    rows = []
    for i in range(3):
        rows += [
            ("listings", f"t:S{i}", f"shop:t:S{i}", 1),
            ("listings", f"t:S{i}", "contact:H", 3),
        ]
    linked = link_keys(keys(rows), ResolveConfig(max_shops_per_contact=3))
    assert len(groups(linked)) == 1


def test_two_shops_with_one_exact_name_stay_apart() -> None:
    linked = link_keys(
        keys(
            [
                ("listings", "t:S1", "shop:t:S1", 1),
                ("listings", "t:S1", "name:t:宇美车品", 4),
                ("listings", "t:S2", "shop:t:S2", 1),
                ("listings", "t:S2", "name:t:宇美车品", 4),
                ("complaints", "C1", "name:t:宇美车品", 4),
            ]
        ),
        ResolveConfig(),
    )
    assert groups(linked) == {
        frozenset({"shop:t:S1", "name:t:宇美车品"}),
        frozenset({"shop:t:S2"}),
    }


def test_a_shared_uscc_joins_two_shops() -> None:
    linked = link_keys(
        keys(
            [
                ("listings", "t:S1", "shop:t:S1", 1),
                ("listings", "t:S1", "uscc:A", 2),
                ("listings", "jd:S2", "shop:jd:S2", 1),
                ("listings", "jd:S2", "uscc:A", 2),
            ]
        ),
        ResolveConfig(),
    )
    assert groups(linked) == {frozenset({"shop:t:S1", "shop:jd:S2", "uscc:A"})}


def test_uscc_links_a_shop_to_its_inspections_by_name() -> None:
    linked = link_keys(
        keys(
            [
                ("listings", "t:S1", "shop:t:S1", 1),
                ("listings", "t:S1", "uscc:A", 2),
                ("entities", "A", "uscc:A", 2),
                ("entities", "A", "name:630100:绿丰种业", 4),
                ("inspections", "I1", "name:630100:绿丰种业", 4),
            ]
        ),
        ResolveConfig(),
    )
    assert groups(linked) == {frozenset({"shop:t:S1", "uscc:A", "name:630100:绿丰种业"})}


def test_a_name_never_merges_two_registered_businesses() -> None:
    linked = link_keys(
        keys(
            [
                ("entities", "A", "uscc:A", 2),
                ("entities", "A", "name:630100:便民", 4),
                ("entities", "B", "uscc:B", 2),
                ("entities", "B", "name:630100:便民", 4),
            ]
        ),
        ResolveConfig(),
    )
    assert len(groups(linked)) == 2


def test_entity_id_is_stable_and_prefers_the_uscc() -> None:
    a = entity_id_for(["shop:t:S1", "uscc:91X", "contact:H"])
    b = entity_id_for(["contact:H", "uscc:91X", "shop:jd:S9"])
    assert a == b
    assert a.startswith("CR-")
    assert entity_id_for(["shop:t:S1"]) != entity_id_for(["shop:t:S2"])


def test_entity_id_falls_back_to_shop_then_contact_then_name() -> None:
    assert entity_id_for(["name:t:宇美", "contact:H", "shop:t:S2", "shop:t:S1"]) == entity_id_for(
        ["shop:t:S1"]
    )
    assert entity_id_for(["name:t:宇美", "contact:H"]) == entity_id_for(["contact:H"])
    assert entity_id_for(["name:630100:绿丰", "name:630100:绿丰种业"]) == entity_id_for(
        ["name:630100:绿丰"]
    )


def test_entity_id_stays_when_the_entity_gains_a_key() -> None:
    jan, mar = date(2026, 1, 5), date(2026, 3, 1)
    shop_only = entity_id_for(["shop:t:S1"], {"shop:t:S1": jan})
    # its seller's USCC shows up in a later snapshot: the shop was seen first
    assert entity_id_for(["shop:t:S1", "uscc:92X"], {"shop:t:S1": jan, "uscc:92X": mar}) == (
        shop_only
    )
    # a second, smaller USCC seen later does not replace the first one
    first = entity_id_for(["uscc:92B"], {"uscc:92B": jan})
    assert entity_id_for(["uscc:92B", "uscc:91A"], {"uscc:92B": jan, "uscc:91A": mar}) == first
    # the undated register comes after every dated record; names only without a hard key
    assert entity_id_for(["uscc:92B", "shop:t:S1"], {"shop:t:S1": mar}) == shop_only
    assert entity_id_for(["name:t:宇美", "shop:t:S1"], {"name:t:宇美": jan, "shop:t:S1": mar}) == (
        shop_only
    )
    # seen the same day: the kind decides (USCC before shop)
    assert entity_id_for(["shop:t:S1", "uscc:92X"], {"shop:t:S1": jan, "uscc:92X": jan}) == (
        entity_id_for(["uscc:92X"])
    )


def test_lead_id_survives_a_later_snapshot_that_names_the_seller() -> None:
    def dated(rows: list[tuple[str, str, str, int, date | None]]) -> pl.DataFrame:
        frame = pl.DataFrame(
            rows, schema=["feed", "record_id", "key", "rank", "seen_on"], orient="row"
        )
        return frame.with_columns(pl.col("key").str.split(":").list.first().alias("key_kind"))

    jan, mar = date(2026, 1, 5), date(2026, 3, 1)
    before = dated([("listings", "t:S1", "shop:t:S1", 1, jan)])
    after = dated(
        [
            ("listings", "t:S1", "shop:t:S1", 1, jan),
            ("listings", "t:S1", "uscc:92X", 2, mar),
            ("entities", "92X", "uscc:92X", 2, None),
            ("complaints", "C1", "uscc:92X", 2, date(2026, 2, 1)),
        ]
    )
    first = link_keys(before, ResolveConfig(match_names=False))
    later = link_keys(after, ResolveConfig(match_names=False))
    assert later["entity_id"].n_unique() == 1
    assert later["entity_id"][0] == first["entity_id"][0]
    # without dates (an older warehouse) the USCC anchors, as before
    undated = link_keys(after.drop("seen_on"), ResolveConfig(match_names=False))
    assert undated["entity_id"][0] == entity_id_for(["uscc:92X"])


def matches(rows: list[tuple[str, str, float]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["key_a", "key_b", "match_probability"], orient="row")


def test_matched_names_link_like_exact_names() -> None:
    linked = link_keys(
        keys(
            [
                ("entities", "A", "uscc:A", 2),
                ("entities", "A", "name:630100:绿丰种子", 4),
                ("complaints", "C1", "name:630100:绿丰", 4),
            ]
        ),
        ResolveConfig(),
        matches([("name:630100:绿丰", "name:630100:绿丰种子", 0.95)]),
    )
    assert groups(linked) == {frozenset({"uscc:A", "name:630100:绿丰种子", "name:630100:绿丰"})}


def test_a_matched_name_never_joins_two_shops() -> None:
    linked = link_keys(
        keys(
            [
                ("listings", "t:S1", "shop:t:S1", 1),
                ("listings", "t:S1", "name:t:宇美车品的", 4),
                ("listings", "t:S2", "shop:t:S2", 1),
                ("listings", "t:S2", "name:t:宇美车品", 4),
            ]
        ),
        ResolveConfig(),
        matches([("name:t:宇美车品", "name:t:宇美车品的", 0.95)]),
    )
    assert len(groups(linked)) == 2


def test_a_name_matching_two_registered_businesses_joins_neither() -> None:
    linked = link_keys(
        keys(
            [
                ("entities", "A", "uscc:A", 2),
                ("entities", "A", "name:630200:天信动物保健", 4),
                ("entities", "B", "uscc:B", 2),
                ("entities", "B", "name:630200:天信兽药", 4),
                ("complaints", "C1", "name:630200:天信", 4),
            ]
        ),
        ResolveConfig(),
        matches(
            [
                ("name:630200:天信", "name:630200:天信兽药", 0.95),
                ("name:630200:天信", "name:630200:天信动物保健", 0.94),
            ]
        ),
    )
    assert frozenset({"name:630200:天信"}) in groups(linked)
    assert len(groups(linked)) == 3


def test_several_spellings_join_one_business() -> None:
    linked = link_keys(
        keys(
            [
                ("entities", "A", "uscc:A", 2),
                ("entities", "A", "name:630100:绿丰种子", 4),
                ("complaints", "C1", "name:630100:绿丰", 4),
                ("complaints", "C2", "name:630100:绿峰种子", 4),
            ]
        ),
        ResolveConfig(),
        matches(
            [
                ("name:630100:绿丰", "name:630100:绿丰种子", 0.95),
                ("name:630100:绿峰种子", "name:630100:绿丰种子", 0.91),
            ]
        ),
    )
    assert len(groups(linked)) == 1


def _tricky_graph() -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Record keys, name matches, shop links and splits: a chain and a cycle of names,
    singletons, names between two USCCs and between two shops (where the order of the links
    decides), a set with one USCC and one shop (where it does not), hard keys with names
    hanging on them, an ambiguous name, shop links against a steward's split and a match
    naming a key no record has."""
    rows = [
        *[("complaints", f"C{i}", f"name:{a}", 5) for i, a in enumerate("ABCDEFG", 1)],
        ("complaints", "C1", "name:B", 5),  # a chain A-B-C-D
        ("complaints", "C2", "name:C", 5),
        ("complaints", "C3", "name:D", 5),
        ("complaints", "C5", "name:F", 5),  # a cycle E-F-G-E
        ("complaints", "C6", "name:G", 5),
        ("complaints", "C7", "name:E", 5),
        ("complaints", "C8", "name:H", 5),  # singletons
        ("complaints", "C9", "name:K", 5),
        ("entities", "R9", "uscc:U9", 0),
        ("entities", "R2", "uscc:U1", 0),  # one name, two USCCs: the first link wins
        ("entities", "R2", "name:X", 5),
        ("entities", "R3", "uscc:U2", 0),
        ("entities", "R3", "name:X", 5),
        ("entities", "R3", "name:X2", 5),
        ("complaints", "C10", "name:X", 5),
        ("complaints", "C10", "name:Y", 5),
        ("listings", "t:S1", "shop:t:S1", 1),  # one name, two shops and a USCC
        ("listings", "t:S1", "name:Z", 5),
        ("listings", "t:S2", "shop:t:S2", 1),
        ("listings", "t:S2", "name:Z", 5),
        ("entities", "R4", "uscc:U3", 0),
        ("entities", "R4", "name:Z", 5),
        ("listings", "t:S6", "shop:t:S6", 1),
        ("entities", "R5", "uscc:U4", 0),  # one USCC and one shop: nothing to refuse
        ("entities", "R5", "name:W", 5),
        ("listings", "t:S3", "shop:t:S3", 1),
        ("listings", "t:S3", "name:W", 5),
        ("complaints", "C11", "name:W", 5),
        ("complaints", "C11", "name:V", 5),
        ("listings", "t:S4", "shop:t:S4", 1),  # two shops by a contact, names on one
        ("listings", "t:S4", "contact:H1", 3),
        ("listings", "t:S4", "name:Q", 5),
        ("listings", "t:S5", "shop:t:S5", 1),
        ("listings", "t:S5", "contact:H1", 3),
        ("complaints", "C12", "name:Q", 5),
        ("complaints", "C12", "name:P", 5),
    ]
    edge = {"key_a": pl.String, "key_b": pl.String, "match_probability": pl.Float64}
    matches = pl.DataFrame(
        [
            ("name:A", "name:H", 0.9),
            ("name:V", "name:Y", 0.8),  # two USCCs: refused
            ("name:E", "name:P", 0.7),
            ("name:K", "name:X", 0.6),  # ambiguous: K joins neither
            ("name:K", "name:X2", 0.6),
            ("name:A", "name:NOBODY", 0.95),
        ],
        schema=edge,
        orient="row",
    )
    shop_links = pl.DataFrame(
        [("shop:t:S1", "shop:t:S2", 0.95), ("shop:t:S2", "shop:t:S6", 0.9)],
        schema=edge,
        orient="row",
    )
    splits = pl.DataFrame({"key_a": ["shop:t:S2"], "key_b": ["shop:t:S6"]})
    return keys(rows), matches, shop_links, splits


def test_sets_at_once_link_as_the_union_find_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 22: the soft links taken as connected components where nothing can refuse one
    (`resolve.SETS_AT_ONCE`) give the entities and ids of the union-find over every key."""
    import transforms.resolve as resolve

    record_keys, matches, shop_links, splits = _tricky_graph()
    linked = {}
    for at_once in (False, True):
        monkeypatch.setattr(resolve, "SETS_AT_ONCE", at_once)
        linked[at_once] = link_keys(record_keys, ResolveConfig(), matches, shop_links, splits)
    assert linked[True].equals(linked[False])
    assert groups(linked[True]) == {
        frozenset({"name:A", "name:B", "name:C", "name:D", "name:H"}),
        frozenset(
            {"shop:t:S4", "shop:t:S5", "contact:H1", "name:Q", "name:P"}
            | {"name:E", "name:F", "name:G"}
        ),
        frozenset({"name:K"}),
        frozenset({"uscc:U9"}),
        frozenset({"uscc:U1", "name:X", "name:Y"}),
        frozenset({"uscc:U2", "name:X2"}),
        frozenset({"shop:t:S1", "shop:t:S2", "name:Z", "uscc:U3"}),
        frozenset({"shop:t:S6"}),
        frozenset({"uscc:U4", "shop:t:S3", "name:W", "name:V"}),
    }
