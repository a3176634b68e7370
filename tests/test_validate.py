"""Every row rule of the contract: a row that breaks it and a row that passes."""

from __future__ import annotations

import pytest

from data_contracts.contract import contracts, retired_regions
from data_contracts.readers import RawTable
from data_contracts.uscc import is_valid_uscc
from data_contracts.validate import validate_rows
from tests.conftest import make_uscc

GOOD_USCC = make_uscc("92630102MA0000001")
LETTER_USCC = make_uscc("Y1630102MA0000001")
INSPECTION = {
    "inspection_id": "I1",
    "inspected_on": "2026-05-10",
    "region_code": "630102",
    "entity_name": "绿丰种业经营部",
    "entity_uscc": GOOD_USCC,
    "product_category": "seeds",
    "inspection_type": "double_random",
    "result": "fail",
    "violation_type": "counterfeit_trademark",
    "inspector_team": "城东一队",
    "seized_value_cny": "1200",
}
LISTING = {
    "snapshot_date": "2026-06-22",
    "platform": "taobao",
    "listing_id": "L1",
    "shop_id": "S1",
    "shop_name": "某店",
    "ship_from_region_code": "440300",
    "product_category": "mobile_phones",
    "title": "手机",
    "price_cny": "99.5",
    "sales_30d": "3",
    "rating": "4.5",
}
ENTITY = {
    "uscc": GOOD_USCC,
    "name": "绿丰种业经营部",
    "region_code": "630102",
    "entity_type": "company",
    "status": "active",
}
COMPLAINT = {
    "complaint_id": "C1",
    "received_at": "2026-05-03T06:22:10Z",
    "channel": "media",
    "region_code": "630102",
    "product_category": "seeds",
    "infringement_type": "other",
    "complainant_type": "anonymous",
    "description": "x",
}


def run(feed: str, record: dict[str, str]):
    headers = list(record)
    table = RawTable(headers, [[record[h] for h in headers]], [1])
    return validate_rows(contracts()[feed], table)


@pytest.mark.parametrize(
    ("feed", "base", "column", "bad", "reason"),
    [
        ("inspections", INSPECTION, "inspected_on", "2026-02-30", "type:inspected_on"),
        ("inspections", INSPECTION, "region_code", "110101", "region:region_code"),
        ("inspections", INSPECTION, "region_code", "639999", "region:region_code"),
        ("inspections", INSPECTION, "product_category", "widgets", "enum:product_category"),
        ("inspections", INSPECTION, "result", "maybe", "enum:result"),
        ("inspections", INSPECTION, "violation_type", "", "required_when:violation_type"),
        ("inspections", INSPECTION, "seized_value_cny", "-1", "range:seized_value_cny"),
        ("inspections", INSPECTION, "inspector_team", " ", "required:inspector_team"),
        ("listings", LISTING, "price_cny", "0", "range:price_cny"),
        ("listings", LISTING, "price_cny", "abc", "type:price_cny"),
        ("listings", LISTING, "rating", "7", "range:rating"),
        ("listings", LISTING, "sales_30d", "2.5", "type:sales_30d"),
        ("listings", LISTING, "sales_30d", "-1", "range:sales_30d"),
        ("listings", LISTING, "platform", "ebay", "enum:platform"),
        ("listings", LISTING, "ship_from_region_code", "999999", "region:ship_from_region_code"),
        ("listings", LISTING, "ship_from_region_code", "630999", "region:ship_from_region_code"),
        # 11-82 holds gaps: no province 19, 20, 39 …; only the codes in provinces.csv are provinces
        ("listings", LISTING, "ship_from_region_code", "190101", "region:ship_from_region_code"),
        ("listings", LISTING, "ship_from_region_code", "200000", "region:ship_from_region_code"),
        ("entities", ENTITY, "region_code", "390101", "region:region_code"),
        (
            "entities",
            ENTITY,
            "uscc",
            GOOD_USCC[:-1] + ("0" if GOOD_USCC[-1] != "0" else "1"),
            "uscc:uscc",
        ),
        ("entities", ENTITY, "status", "closed", "enum:status"),
        ("complaints", COMPLAINT, "received_at", "yesterday", "type:received_at"),
        ("complaints", COMPLAINT, "channel", "fax", "enum:channel"),
    ],
)
def test_rule_breaks_and_passes(feed, base, column, bad, reason) -> None:
    assert run(feed, base).accepted.height == 1, "the good row passes"
    result = run(feed, {**base, column: bad})
    assert result.accepted.height == 0
    assert result.quarantined["reasons"][0] == reason


def test_all_reasons_that_apply_are_kept() -> None:
    result = run("listings", {**LISTING, "price_cny": "-3", "rating": "9", "platform": "ebay"})
    assert result.quarantined["reasons"][0].split(";") == [
        "enum:platform",
        "range:price_cny",
        "range:rating",
    ]


def test_invalid_uscc_outside_entities_is_a_finding_and_nulled() -> None:
    bad = GOOD_USCC[:-1] + ("0" if GOOD_USCC[-1] != "0" else "1")
    result = run("inspections", {**INSPECTION, "entity_uscc": bad})
    assert result.accepted.height == 1
    assert result.accepted["entity_uscc"][0] is None
    assert result.findings["finding"].to_list() == ["uscc_nulled:entity_uscc"]


def test_a_region_of_any_province_is_accepted_where_the_column_allows_it() -> None:
    for code in ("650101", "110101", "820000"):  # Urumqi, Beijing, Macao
        result = run("listings", {**LISTING, "ship_from_region_code": code})
        assert result.accepted["ship_from_region_code"].to_list() == [code]


def test_retired_region_code_is_mapped() -> None:
    result = run("inspections", {**INSPECTION, "region_code": "630122"})
    assert result.accepted["region_code"][0] == "630106"


@pytest.mark.parametrize("retired, current", sorted(retired_regions().items()))
def test_a_retired_region_code_of_a_complaint_is_mapped(retired: str, current: str) -> None:
    # e.g. 湟中县 630122 became 湟中区 630106 in 2019
    result = run("complaints", {**COMPLAINT, "region_code": retired})
    assert result.quarantined.height == 0
    assert result.accepted["region_code"].to_list() == [current]


def test_timestamp_offsets_become_china_time() -> None:
    result = run("complaints", COMPLAINT)
    assert str(result.accepted["received_at"][0]) == "2026-05-03 14:22:10"


def test_uscc_with_a_letter_first_verifies() -> None:
    assert is_valid_uscc(LETTER_USCC)
    assert not is_valid_uscc(LETTER_USCC[:-1] + ("0" if LETTER_USCC[-1] != "0" else "1"))
    assert run("entities", {**ENTITY, "uscc": LETTER_USCC}).accepted.height == 1


def test_enum_codes_are_case_insensitive_and_values_trimmed() -> None:
    result = run("inspections", {**INSPECTION, "result": " FAIL ", "product_category": "Seeds"})
    assert (result.accepted["result"][0], result.accepted["product_category"][0]) == (
        "fail",
        "seeds",
    )
