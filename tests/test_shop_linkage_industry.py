"""A registered business's storefront in the category its registered industry names
(`sql/core/business_candidates.sql`, categories.csv's `register_industry_words`; issue 19): a
pharmacy registered for `药品零售` whose inspections were mostly of pesticides still links to
its pharmaceuticals storefront; a business registered for pesticides alone does not, nor does
a pharmacy whose trade name many pharmacies' shops use (a franchise chain's or a common one)."""

from __future__ import annotations

import datetime as dt
import random

import duckdb

from tests.test_shop_linkage import AS_OF, background, shop_rows, stage_listings
from transforms.resolve import resolve_entities
from transforms.shop_linkage import business_candidates, refresh_shop_candidates

PHARMACY = "92630104MA7IND0001"
PESTICIDES = "92630104MA7IND0002"
CHAIN = "92630102MA7IND0003"


def registered(
    con: duckdb.DuckDBPyConnection,
    businesses: list[tuple[str, str, str, str | None, list[str]]],
) -> None:
    """Registered businesses (uscc, name, county, registered industry, the categories of their
    inspections, one each)."""
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
                "industry": industry,
            }
            for uscc, name, county, industry, _ in businesses
        ],
        inspections=[
            {
                "inspection_id": f"I-{uscc}-{i}",
                "inspected_on": AS_OF - dt.timedelta(days=40 + i),
                "entity_uscc": uscc,
                "entity_name": name,
                "region_code": county,
                "product_category": category,
                "result": "pass",
                "inspection_type": "double_random",
            }
            for uscc, name, county, _, categories in businesses
            for i, category in enumerate(categories)
        ],
    )


def world(con: duckdb.DuckDBPyConnection, industry: str) -> duckdb.DuckDBPyConnection:
    """A pharmacy's keyless storefront 何湟健康官方店 (630104) and the registered 城西区何湟药店
    of 630104, registered for `industry`, inspected twice for pesticides and once for
    medicines; eight shops of 金鼎大药房 in eight counties, and 城东区金鼎药店 registered for
    medicines."""
    rnd = random.Random(19)
    rows = background(rnd)
    rows += shop_rows(rnd, "taobao", "M1", "何湟健康官方店", "pharmaceuticals", "630104", opened=3)
    counties = ["630102", "630103", "630105", "630121", "632801", "632802", "630202", "630203"]
    for i, county in enumerate(counties):
        rows += shop_rows(
            rnd, "meituan", f"G{i}", f"金鼎大药房{i + 1}店", "pharmaceuticals", county
        )
    stage_listings(con, rows)
    registered(
        con,
        [
            (PHARMACY, "城西区何湟药店", "630104", industry, ["pesticides", "pesticides", "pharmaceuticals"]),
            (CHAIN, "城东区金鼎药店", "630102", "药品零售", ["pesticides"]),
        ],
    )  # fmt: skip
    return con


def test_a_pharmacy_links_to_its_storefront_in_the_category_it_is_registered_for(
    con: duckdb.DuckDBPyConnection,
) -> None:
    world(con, "药品零售")
    candidates = refresh_shop_candidates(con, AS_OF)
    businesses = business_candidates(con, AS_OF, candidates)
    rows = businesses.filter(businesses["key"] == f"uscc:{PHARMACY}")
    assert sorted(rows["category"]) == ["pesticides", "pharmaceuticals"]  # records, register
    assert businesses.filter(businesses["key"] == f"uscc:{PHARMACY}")[
        "stem"
    ].unique().to_list() == ["何湟"]
    resolve_entities(con, AS_OF)
    ids = dict(con.execute("select key, entity_id from core.entity_keys").fetchall())
    assert ids["shop:taobao:M1"] == ids[f"uscc:{PHARMACY}"]
    # 金鼎: a trade name eight pharmacies' shops use links none to the registered 金鼎药店
    assert all(ids[f"shop:meituan:G{i}"] != ids[f"uscc:{CHAIN}"] for i in range(8))


def test_a_business_registered_for_another_category_stays_apart(
    con: duckdb.DuckDBPyConnection,
) -> None:
    """The same business registered for pesticides: its records' main category and its
    register both say pesticides, never the storefront's pharmaceuticals."""
    world(con, "农药经营")
    resolve_entities(con, AS_OF)
    ids = dict(con.execute("select key, entity_id from core.entity_keys").fetchall())
    assert ids["shop:taobao:M1"] != ids[f"uscc:{PHARMACY}"]
    links = con.sql("select key_a, key_b from core.shop_links").fetchall()
    assert not any(b.startswith("uscc:") for _, b in links)


def test_an_unregistered_industry_gives_no_category(con: duckdb.DuckDBPyConnection) -> None:
    """No industry on the register (or one that names no category): the records' category
    alone, as before."""
    world(con, None)  # type: ignore[arg-type]
    candidates = refresh_shop_candidates(con, AS_OF)
    businesses = business_candidates(con, AS_OF, candidates)
    assert businesses.filter(businesses["key"] == f"uscc:{PHARMACY}")["category"].to_list() == [
        "pesticides"
    ]
