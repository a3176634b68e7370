"""Each entity feature (README "Features") and each county-burst column, on tiny hand-written
feeds: rows go into the warehouse's staging tables, the nightly stages `resolve` and
`build_features` (and `models.episodes.regional_episodes`) run as in a night, and each test
checks the exact value an inspector would expect."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import duckdb
import polars as pl
import pytest

from flows.stages import build_features, resolve
from models.episodes import EpisodeConfig, regional_episodes
from models.scoring import own_voices, term_inputs, with_episodes
from tests.conftest import make_uscc
from tests.staging import stage

AS_OF = dt.date(2026, 6, 30)

A = make_uscc("91630102MA0000001")  # registered in 城东区, Xining
B = make_uscc("91630102MA0000002")
C = make_uscc("91630104MA0000003")
D = make_uscc("91630104MA0000004")


# --- hand-written rows --------------------------------------------------------------------


def day(before: int) -> dt.date:
    """The date `before` days before the as-of date (negative: after it)."""
    return AS_OF - dt.timedelta(days=before)


def complaint(cid: str, before: int, **more: Any) -> dict[str, Any]:
    """A consumer's counterfeit complaint against taobao shop S1, in its own words."""
    return {
        "complaint_id": cid,
        "received_at": dt.datetime.combine(day(before), dt.time(10, 0)),
        "channel": "hotline_12315",
        "region_code": "630102",
        "product_category": "mobile_phones",
        "infringement_type": "counterfeit_trademark",
        "complainant_type": "consumer",
        "platform": "taobao",
        "shop_id": "S1",
        "description": f"投诉{cid}：买到的手机是假货",
        **more,
    }


def listing(lid: str, shop: str, price: float, before: int = 0, **more: Any) -> dict[str, Any]:
    """A taobao auto-parts listing of `shop`, as seen `before` days before the as-of date."""
    return {
        "snapshot_date": day(before),
        "platform": "taobao",
        "listing_id": lid,
        "shop_id": shop,
        "shop_name": f"{shop}号汽配",
        "product_category": "auto_parts",
        "title": "雨刮器",
        "price_cny": price,
        **more,
    }


def inspection(iid: str, before: int, uscc: str, result: str, **more: Any) -> dict[str, Any]:
    return {
        "inspection_id": iid,
        "inspected_on": day(before),
        "region_code": "630102",
        "entity_name": f"企业{uscc[-4:]}",
        "entity_uscc": uscc,
        "product_category": "seeds",
        "inspection_type": "double_random",
        "result": result,
        "inspector_team": "城东区执法一队",
        **more,
    }


def credit(rid: str, before: int, uscc: str, record_type: str, **more: Any) -> dict[str, Any]:
    return {
        "record_id": rid,
        "decided_on": day(before),
        "uscc": uscc,
        "entity_name": f"企业{uscc[-4:]}",
        "record_type": record_type,
        **more,
    }


def outcome(oid: str, before: int, outcome: str, **more: Any) -> dict[str, Any]:
    return {"outcome_id": oid, "closed_on": day(before), "outcome": outcome, **more}


# --- running the stages and reading the results -------------------------------------------


def build(con: duckdb.DuckDBPyConnection) -> None:
    """The nightly stages that make the features, as of AS_OF."""
    resolve(con, AS_OF)
    build_features(con, AS_OF)


def _row_of(con: duckdb.DuckDBPyConnection, table: str, key: str) -> dict[str, Any]:
    frame = con.sql(
        f"select t.* from {table} t join core.entity_keys k using (entity_id) where k.key = ?",
        params=[key],
    ).pl()
    assert frame.height == 1, f"no single entity holds {key}"
    return frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64)).row(0, named=True)


def features_of(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any]:
    """features.entity_features of the entity that holds `key` (shop:…, uscc:…)."""
    return _row_of(con, "features.entity_features", key)


def profile_of(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any]:
    """features.entity_profile of the entity that holds `key`."""
    return _row_of(con, "features.entity_profile", key)


def pick(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[n] for n in names)


def approx(value: float) -> Any:
    return pytest.approx(value, rel=1e-9)


# --- complaints ----------------------------------------------------------------------------


def test_complaint_windows_end_on_the_as_of_date(con: duckdb.DuckDBPyConnection) -> None:
    # 30 days = the as-of date and the 29 before it: a complaint exactly 30 days before
    # falls out of complaints_30d; likewise for 90 and 180 days.
    late_evening = {"received_at": dt.datetime.combine(AS_OF, dt.time(23, 59))}
    next_day = {"received_at": dt.datetime.combine(day(-1), dt.time(0, 0))}
    stage(
        con,
        complaints=[
            complaint("C0", 0, **late_evening),
            complaint("C29", 29),
            complaint("C30", 30),
            complaint("C89", 89),
            complaint("C90", 90),
            complaint("C179", 179),
            complaint("C180", 180),
            complaint("C-1", -1, **next_day),
        ],
    )
    build(con)
    f = features_of(con, "shop:taobao:S1")
    assert pick(f, "complaints_30d", "complaints_90d", "complaints_180d") == (2, 4, 6)
    assert f["complaint_voices_180d"] == approx(6.0)
    assert pick(f, "voices_last_90d", "voices_prior_90d") == (approx(4.0), approx(2.0))


def test_one_phone_against_one_entity_counts_once(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        complaints=[
            *(complaint(f"P{i}", 10 + i, complainant_phone="13800000001") for i in range(4)),
            complaint("Q", 20, complainant_phone="13900000002"),
            complaint("N", 30),  # no phone: its own voice
            complaint("P-S2", 12, complainant_phone="13800000001", shop_id="S2"),
        ],
    )
    build(con)
    f = features_of(con, "shop:taobao:S1")
    assert f["complaints_180d"] == 6
    assert f["complaint_voices_180d"] == approx(3.0)
    assert features_of(con, "shop:taobao:S2")["complaint_voices_180d"] == approx(1.0)


def test_one_phone_written_differently_is_one_phone(con: duckdb.DuckDBPyConnection) -> None:
    phones = ["13800138000", "138 0013 8000", "+86 138-0013-8000"]
    stage(
        con,
        complaints=[complaint(f"C{i}", 5 + i, complainant_phone=p) for i, p in enumerate(phones)],
    )
    build(con)
    assert features_of(con, "shop:taobao:S1")["complaint_voices_180d"] == approx(1.0)


def test_a_text_copied_three_times_against_one_entity_counts_once(
    con: duckdb.DuckDBPyConnection,
) -> None:
    copied = "在该店购买的手机是假货，要求查处"
    stage(
        con,
        complaints=[
            *(complaint(f"T{i}", 10 + i, description=copied) for i in range(3)),
            complaint("OWN", 20),
            # two copies are not yet a template: two voices
            *(complaint(f"U{i}", 10 + i, description=copied, shop_id="S2") for i in range(2)),
        ],
    )
    build(con)
    assert features_of(con, "shop:taobao:S1")["complaint_voices_180d"] == approx(2.0)
    assert features_of(con, "shop:taobao:S2")["complaint_voices_180d"] == approx(2.0)


def test_a_phone_with_eight_complaints_in_90_days_counts_0_3(
    con: duckdb.DuckDBPyConnection,
) -> None:
    frequent = [  # 8 complaints within 80 days, each against another shop
        complaint(f"F{i}", 5 + 10 * i, shop_id=f"F{i}", complainant_phone="13700000001")
        for i in range(8)
    ]
    seven = [  # 7 complaints within 60 days: an ordinary complainant
        complaint(f"G{i}", 5 + 10 * i, shop_id=f"G{i}", complainant_phone="13700000002")
        for i in range(7)
    ]
    spread = [  # 8 complaints, never more than 4 within 90 days
        complaint(f"H{i}", before, shop_id=f"H{i}", complainant_phone="13700000003")
        for i, before in enumerate([170, 168, 166, 164, 10, 8, 6, 4])
    ]
    one_shop = [  # 8 complaints from one phone against one shop: one discounted voice
        complaint(f"K{i}", 5 + i, shop_id="K", complainant_phone="13700000004") for i in range(8)
    ]
    stage(con, complaints=frequent + seven + spread + one_shop)
    build(con)
    for i in range(8):
        f = features_of(con, f"shop:taobao:F{i}")
        assert f["complaint_voices_180d"] == approx(0.3), f"F{i}"
        assert f["frequent_complainant_complaints"] == 1
    for shop in [f"G{i}" for i in range(7)] + [f"H{i}" for i in range(8)]:
        f = features_of(con, f"shop:taobao:{shop}")
        assert f["complaint_voices_180d"] == approx(1.0), shop
        assert f["frequent_complainant_complaints"] == 0
    k = features_of(con, "shop:taobao:K")
    assert (k["complaint_voices_180d"], k["frequent_complainant_complaints"]) == (approx(0.3), 8)


def test_counterfeit_voices_count_trademark_origin_and_quality(
    con: duckdb.DuckDBPyConnection,
) -> None:
    kinds = ["counterfeit_trademark", "fake_origin", "substandard_quality"]
    others = ["patent", "copyright", "unlicensed", "other"]
    stage(
        con,
        complaints=[
            complaint(f"C{i}", 10 + i, infringement_type=kind)
            for i, kind in enumerate(kinds + others)
        ],
    )
    build(con)
    f = features_of(con, "shop:taobao:S1")
    assert f["complaint_voices_180d"] == approx(7.0)
    assert f["counterfeit_voices_180d"] == approx(3.0)


def test_voices_per_1k_sales_divides_by_estimated_sales(con: duckdb.DuckDBPyConnection) -> None:
    # 4 voices; sales_30d 500 on the last snapshot → 500 × 6 = 3 000 estimated sales:
    # 4 / (1 + 3 000 / 1 000) = 1.0. Without listings: 2 / (1 + 0) = 2.0.
    stage(
        con,
        complaints=[complaint(f"C{i}", 10 + i) for i in range(4)]
        + [complaint(f"D{i}", 10 + i, shop_id="NOLIST") for i in range(2)],
        listings=[
            listing("L1", "S1", 20.0, sales_30d=300),
            listing("L2", "S1", 20.0, sales_30d=200),
        ],
    )
    build(con)
    f = features_of(con, "shop:taobao:S1")
    assert (f["sales_30d"], f["voices_per_1k_sales"]) == (500, approx(1.0))
    assert features_of(con, "shop:taobao:NOLIST")["voices_per_1k_sales"] == approx(2.0)


# --- inspections ---------------------------------------------------------------------------


def test_inspections_of_365_days_failures_and_seizures(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        inspections=[
            inspection("I1", 10, A, "pass", seized_value_cny=100.0),
            inspection(
                "I2",
                100,
                A,
                "fail",
                violation_type="counterfeit_trademark",
                seized_value_cny=5000.0,
            ),
            inspection("I3", 364, A, "fail", violation_type="mislabeled"),
            inspection(
                "I4",
                365,
                A,
                "fail",
                violation_type="counterfeit_trademark",
                seized_value_cny=9999.0,
            ),  # a year and a day ago
            inspection("I5", 5, A, "pending"),
            inspection(
                "I6", -1, A, "fail", violation_type="fake_origin", seized_value_cny=7777.0
            ),  # after the as-of date
        ],
    )
    build(con)
    f = features_of(con, f"uscc:{A}")
    assert pick(f, "inspections_365d", "failed_inspections_365d", "severe_failures_365d") == (
        3,
        2,
        1,
    )
    assert (f["days_since_failure"], f["seized_value_365d"]) == (100, approx(5100.0))


def test_severe_failures_are_counterfeit_quality_origin_and_unlicensed(
    con: duckdb.DuckDBPyConnection,
) -> None:
    violations = ["counterfeit_trademark", "substandard_quality", "fake_origin", "unlicensed"]
    violations += ["mislabeled", "other"]
    stage(
        con,
        inspections=[
            inspection(f"I{i}", 10 + i, A, "fail", violation_type=v)
            for i, v in enumerate(violations)
        ],
    )
    build(con)
    f = features_of(con, f"uscc:{A}")
    assert pick(f, "failed_inspections_365d", "severe_failures_365d", "days_since_failure") == (
        6,
        4,
        10,
    )


def test_smoothed_fail_rate_shrinks_toward_the_category_rate(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # seeds in the province: 1 failure in 4 inspections with a result → prior 0.25
    stage(
        con,
        inspections=[
            inspection("A1", 10, A, "fail", violation_type="substandard_quality"),
            inspection("A2", 20, A, "pass"),
            inspection("B1", 10, B, "pass"),
            inspection("B2", 20, B, "pass"),
            inspection("C1", 10, C, "pending"),
            inspection("D1", 10, D, "fail", violation_type="other", product_category="fertilizer"),
        ],
        listings=[listing("L1", "S1", 20.0)],
    )
    build(con)
    assert features_of(con, f"uscc:{A}")["smoothed_fail_rate"] == approx((1 + 4 * 0.25) / (2 + 4))
    assert features_of(con, f"uscc:{B}")["smoothed_fail_rate"] == approx((0 + 4 * 0.25) / (2 + 4))
    # C: no result yet, so nothing to smooth, as without inspections
    assert features_of(con, f"uscc:{C}")["smoothed_fail_rate"] is None
    assert features_of(con, f"uscc:{D}")["smoothed_fail_rate"] == approx((1 + 4 * 1.0) / (1 + 4))
    shop = features_of(con, "shop:taobao:S1")
    assert (shop["smoothed_fail_rate"], shop["days_since_failure"]) == (None, None)


def test_pending_inspections_do_not_count_in_the_smoothed_fail_rate(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # seeds: 1 failure in 4 inspections with a result → prior 0.25; fertilizer: 1 in 1 → 1.0
    stage(
        con,
        inspections=[
            inspection("A1", 10, A, "fail", violation_type="substandard_quality"),
            inspection("A2", 20, A, "pass"),
            # results not known yet: neither failures nor passes, nor weight for their category
            inspection("A3", 5, A, "pending", product_category="fertilizer"),
            inspection("A4", 6, A, "pending", product_category="fertilizer"),
            inspection("A5", 7, A, "pending"),
            inspection("B1", 10, B, "pass"),
            inspection("B2", 20, B, "pass"),
            inspection("D1", 10, D, "fail", violation_type="other", product_category="fertilizer"),
        ],
    )
    build(con)
    a = features_of(con, f"uscc:{A}")
    assert pick(a, "inspections_365d", "failed_inspections_365d") == (2, 1)
    assert a["smoothed_fail_rate"] == approx((1 + 4 * 0.25) / (2 + 4))


# --- listings ------------------------------------------------------------------------------


def test_price_reference_is_the_category_and_brand_median_else_the_category(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # auto_parts, latest snapshot of each listing in the last 8 weeks:
    #   博世 (5 listings: a brand reference): 55 (shop X), 100 × 4 (shop R) → median 100
    #   杂牌 (4 listings: too few): 30 × 4 (shop Z); no brand: 15 (shop Y)
    #   category median of 15, 30 × 4, 55, 100 × 4 → (30 + 55) / 2 = 42.5
    stage(
        con,
        listings=[
            listing("X1", "X", 100.0, before=7, brand="博世"),  # earlier price of X1
            listing("X1", "X", 55.0, brand="博世"),
            *(listing(f"R{i}", "R", 100.0, brand="博世") for i in range(4)),
            *(listing(f"Z{i}", "Z", 30.0, brand="杂牌") for i in range(4)),
            listing("Y1", "Y", 15.0),
            listing("Y2", "Y", 1.0, before=56),  # 8 weeks and a day ago
            listing("P1", "R", 10.0, brand="博世", product_category="mobile_phones"),
        ],
    )
    build(con)
    x, z, y = (features_of(con, f"shop:taobao:{s}") for s in "XZY")
    assert pick(x, "low_price_share", "median_price_ratio", "listings_seen_8w") == (
        approx(1.0),
        approx(0.55),
        1,
    )
    assert pick(z, "low_price_share", "median_price_ratio") == (approx(0.0), approx(30 / 42.5))
    assert pick(y, "low_price_share", "median_price_ratio", "listings_seen_8w") == (
        approx(1.0),
        approx(15 / 42.5),
        1,
    )
    r = features_of(con, "shop:taobao:R")
    # R: 100/100 × 4 and the phone listing alone in its category (10/10)
    assert pick(r, "low_price_share", "median_price_ratio") == (approx(0.0), approx(1.0))


HONEST_WORDS = ["适用于", "兼容", "副厂", "清仓", "临期", "二手", "样品", "瑕疵"]
SLANG = ["高仿", "原单", "1:1", "1：1", "A货", "复刻", "精仿", "超A", "工厂货", "同款原厂", "尾单"]
# as sellers also write them: lower case, full-width letters and digits, a full-width colon
SLANG_VARIANTS = ["a货", "Ａ货", "超a", "超Ａ", "１:１", "１：１"]


def test_honest_wording_explains_a_low_price(con: duckdb.DuckDBPyConnection) -> None:
    # 12 reference listings at 100 keep the category median at 100: every listing at 40 is
    # under 60 % of it; only one without honest wording is a low-price listing.
    titles = {f"H{i}": f"{word}博世雨刮器" for i, word in enumerate(HONEST_WORDS)}
    titles["PLAIN"] = "博世雨刮器"
    stage(
        con,
        listings=[listing(shop, shop, 40.0, title=title) for shop, title in titles.items()]
        + [listing(f"R{i}", "R", 100.0) for i in range(12)]
        + [listing("M1", "MIXED", 40.0, title="兼容款雨刮器"), listing("M2", "MIXED", 40.0)],
    )
    build(con)
    shares = {
        shop: pick(
            features_of(con, f"shop:taobao:{shop}"), "low_price_share", "honest_wording_share"
        )
        for shop in [*titles, "MIXED"]
    }
    expected = {f"H{i}": (0.0, 1.0) for i in range(len(HONEST_WORDS))}
    assert shares == expected | {"PLAIN": (1.0, 0.0), "MIXED": (0.5, 0.5)}


def test_slang_share_is_the_share_of_titles_with_counterfeit_slang(
    con: duckdb.DuckDBPyConnection,
) -> None:
    titles = {f"S{i}": f"博世雨刮器{word}" for i, word in enumerate(SLANG + SLANG_VARIANTS)}
    titles["PLAIN"] = "博世原装雨刮器"
    stage(
        con,
        listings=[listing(shop, shop, 100.0, title=title) for shop, title in titles.items()]
        + [listing("M1", "MIXED", 100.0, title="精仿雨刮器"), listing("M2", "MIXED", 100.0)],
    )
    build(con)
    shares = {
        shop: features_of(con, f"shop:taobao:{shop}")["slang_share"] for shop in [*titles, "MIXED"]
    }
    expected = {f"S{i}": 1.0 for i in range(len(SLANG + SLANG_VARIANTS))}
    assert shares == expected | {"PLAIN": 0.0, "MIXED": 0.5}


def test_sales_turnover_and_churn_come_from_the_last_snapshot(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stage(
        con,
        listings=[
            listing("L1", "S1", 20.0, sales_30d=10),
            listing("L2", "S1", 5.0),  # no sales figure
            listing("L3", "S1", 50.0, before=7, sales_30d=100),  # gone from the last snapshot
            listing("L4", "S1", 99.0, before=-1, sales_30d=1000),  # after the as-of date
            # jd's last snapshot was 3 days ago: its listings there are active
            listing("J1", "J", 10.0, before=3, sales_30d=7, platform="jd"),
        ],
    )
    build(con)
    s1 = features_of(con, "shop:taobao:S1")
    assert pick(s1, "active_listings", "listings_seen_8w", "sales_30d", "turnover_30d") == (
        2,
        3,
        10,
        approx(200.0),
    )
    assert s1["listing_churn"] == approx(1 / 3)
    jd = features_of(con, "shop:jd:J")
    assert pick(jd, "active_listings", "sales_30d", "turnover_30d", "listing_churn") == (
        1,
        7,
        approx(70.0),
        approx(0.0),
    )


def test_ring_size_counts_linked_shops_and_their_platforms(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stage(
        con,
        listings=[
            listing("L1", "S1", 20.0, contact_hash="H", seller_uscc=A),
            listing("L2", "S2", 20.0, contact_hash="H", platform="jd"),
            listing("L3", "S3", 20.0, before=200, contact_hash="H"),  # seen long ago: still a shop
            listing("L5", "S5", 20.0, before=-1, contact_hash="H"),  # after the as-of date
            listing("L4", "S4", 20.0),
        ],
    )
    build(con)
    ring = features_of(con, "shop:taobao:S1")
    assert pick(ring, "shops", "platforms", "registered_codes") == (3, 2, 1)
    assert pick(features_of(con, "shop:taobao:S4"), "shops", "platforms") == (1, 1)


# --- credit and history --------------------------------------------------------------------


def test_penalties_decay_with_age_over_three_years(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        credit=[
            credit("P0", 0, A, "admin_penalty", amount_cny=1000.0),
            credit("P365", 365, A, "admin_penalty", amount_cny=2000.0),
            credit("P1094", 1094, A, "admin_penalty"),
            credit("P1095", 1095, A, "admin_penalty", amount_cny=5000.0),  # over 3 years
            credit("P-1", -1, A, "admin_penalty", amount_cny=7000.0),  # after the as-of date
            credit("D", 400, A, "serious_dishonesty_list"),
        ],
    )
    build(con)
    f = features_of(con, f"uscc:{A}")
    assert f["penalty_decay"] == approx(1 + math.exp(-1) + math.exp(-1094 / 365))
    assert pick(f, "penalties_3y", "penalty_amount", "penalties_180d") == (3, approx(3000.0), 1)


def test_penalties_180d_count_penalties_and_dishonesty_listings(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stage(
        con,
        credit=[
            credit("P179", 179, A, "admin_penalty"),
            credit("P180", 180, A, "admin_penalty"),
            credit("D179", 179, A, "serious_dishonesty_list"),
            credit("AB", 10, A, "abnormal_operation"),
            credit("R", 10, A, "red_list"),
        ],
    )
    build(con)
    f = features_of(con, f"uscc:{A}")
    assert pick(f, "penalties_180d", "penalties_3y") == (2, 2)


def test_credit_lists_count_for_three_years(con: duckdb.DuckDBPyConnection) -> None:
    stage(
        con,
        credit=[
            credit("A1", 1094, A, "serious_dishonesty_list"),
            credit("A2", 1094, A, "abnormal_operation"),
            credit("A3", 1094, A, "red_list"),
            credit("B1", 1095, B, "serious_dishonesty_list"),
            credit("B2", 1095, B, "abnormal_operation"),
            credit("B3", -1, B, "red_list"),  # after the as-of date
            credit("B4", 10, B, "admin_penalty"),
        ],
    )
    build(con)
    flags = ("on_dishonesty_list", "on_abnormal_list", "on_red_list")
    assert pick(features_of(con, f"uscc:{A}"), *flags) == (True, True, True)
    assert pick(features_of(con, f"uscc:{B}"), *flags) == (False, False, False)


def test_prior_outcomes_closed_by_the_as_of_date(con: duckdb.DuckDBPyConnection) -> None:
    by_uscc = {"entity_uscc": A}
    stage(
        con,
        outcomes=[
            outcome("O1", 10, "confirmed", illegal_turnover_cny=5000.0, **by_uscc),
            outcome("O2", 20, "referred_to_police", illegal_turnover_cny=20000.0, **by_uscc),
            outcome("O3", 0, "confirmed", illegal_turnover_cny=100.0, **by_uscc),  # on the day
            outcome("O4", 30, "not_confirmed", **by_uscc),
            outcome("O5", 40, "insufficient_evidence", **by_uscc),
            outcome("O6", 50, "transferred", **by_uscc),
            outcome("O7", -1, "confirmed", illegal_turnover_cny=1e6, **by_uscc),  # after it
            outcome("O8", 60, "confirmed", platform="taobao", shop_id="S1"),
        ],
        listings=[listing("L1", "S1", 20.0)],
    )
    build(con)
    f = features_of(con, f"uscc:{A}")
    assert pick(f, "prior_confirmed", "prior_not_confirmed", "prior_illegal_turnover") == (
        3,
        1,
        approx(25100.0),
    )
    assert pick(features_of(con, "shop:taobao:S1"), "prior_confirmed", "prior_not_confirmed") == (
        1,
        0,
    )


def test_prior_illegal_turnover_counts_only_confirmed_cases(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # 违法经营额 reported on cases that did not confirm the suspicion is no evidence of it
    by_uscc = {"entity_uscc": A}
    stage(
        con,
        outcomes=[
            outcome("O1", 10, "confirmed", illegal_turnover_cny=5000.0, **by_uscc),
            outcome("O2", 20, "referred_to_police", illegal_turnover_cny=20000.0, **by_uscc),
            outcome("O3", 30, "not_confirmed", illegal_turnover_cny=3e5, **by_uscc),
            outcome("O4", 40, "insufficient_evidence", illegal_turnover_cny=4e5, **by_uscc),
            outcome("O5", 50, "transferred", illegal_turnover_cny=5e5, **by_uscc),
            outcome("O6", 60, "confirmed", illegal_turnover_cny=None, **by_uscc),
            outcome("B1", 10, "not_confirmed", entity_uscc=B, illegal_turnover_cny=9e4),
        ],
    )
    build(con)
    assert features_of(con, f"uscc:{A}")["prior_illegal_turnover"] == approx(25000.0)
    b = features_of(con, f"uscc:{B}")
    assert pick(b, "prior_confirmed", "prior_not_confirmed", "prior_illegal_turnover") == (0, 1, 0)


def test_an_outcome_that_answers_a_lead_counts_for_that_lead(
    con: duckdb.DuckDBPyConnection,
) -> None:
    # an offline seller known by name only: the case comes back with the lead's id and a name
    seller = {"entity_name": "城东区鑫华种子经营部", "entity_uscc": None}
    stage(
        con, inspections=[inspection("I1", 30, A, "fail", violation_type="fake_origin", **seller)]
    )
    resolve(con, AS_OF)
    lead_id = con.execute("select distinct entity_id from core.record_entities").fetchall()[0][0]
    stage(
        con,
        outcomes=[
            outcome("O1", 5, "confirmed", lead_id=lead_id, illegal_turnover_cny=800.0, **seller),
            outcome("O2", 5, "confirmed", lead_id="CR-NOSUCHLEAD"),
        ],
    )
    build(con)
    f = features_of(con, "name:630100:鑫华种子")
    assert f["entity_id"] == lead_id
    assert pick(f, "prior_confirmed", "prior_illegal_turnover") == (1, approx(800.0))


# --- who the entity is: entity_profile -----------------------------------------------------


def test_region_is_the_main_in_province_county_of_the_conduct(
    con: duckdb.DuckDBPyConnection,
) -> None:
    about_a = {"platform": None, "shop_id": None, "subject_uscc": A}
    stage(
        con,
        entities=[{"uscc": A, "name": "城东区鑫源汽配商行", "region_code": "630105"}],
        complaints=[
            complaint("C1", 10, region_code="630102", **about_a),
            complaint("C2", 20, region_code="630102", **about_a),
            # three complaints of 200 days ago, out of the 180-day window
            *(complaint(f"OLD{i}", 200, region_code="630103", **about_a) for i in range(3)),
            complaint("TC", 10, region_code="630103", shop_id="TIE"),
        ],
        inspections=[inspection("I1", 30, A, "pass", region_code="630104")],
        listings=[  # shipped from Shenzhen: not in the province
            listing(f"L{i}", "S1", 20.0, seller_uscc=A, ship_from_region_code="440300")
            for i in range(3)
        ]
        + [listing("T1", "TIE", 20.0, ship_from_region_code="630104")],
        credit=[credit(f"K{i}", 10, A, "admin_penalty", region_code="630103") for i in range(3)],
    )
    build(con)
    assert profile_of(con, f"uscc:{A}")["region_code"] == "630102"
    # one complaint in 630103, one listing shipped from 630104: the smaller code
    assert profile_of(con, "shop:taobao:TIE")["region_code"] == "630103"


def test_a_shop_shipping_only_from_outside_has_no_region(con: duckdb.DuckDBPyConnection) -> None:
    stage(con, listings=[listing("L1", "S1", 20.0, ship_from_region_code="440300")])
    build(con)
    assert profile_of(con, "shop:taobao:S1")["region_code"] is None


def test_handoff_region_from_the_register_else_from_the_uscc(
    con: duckdb.DuckDBPyConnection,
) -> None:
    shenzhen = make_uscc("91440300MA5F00001")  # registered in Shenzhen
    hangzhou = make_uscc("92330100MA2B00002")  # not in the register: chars 3-8
    moved_in = make_uscc("91440300MA5F00003")  # a Shenzhen code, registered now in Xining
    local = make_uscc("92630102MA2B00004")  # a Xining code, not in the register
    stage(
        con,
        entities=[
            {"uscc": shenzhen, "name": "深圳甲公司", "region_code": "440300"},
            {"uscc": moved_in, "name": "西宁乙公司", "region_code": "630102"},
        ],
        complaints=[
            complaint(f"C{i}", 10, platform=None, shop_id=None, subject_uscc=code)
            for i, code in enumerate([shenzhen, hangzhou, moved_in, local])
        ],
    )
    build(con)
    handoff = {
        code: profile_of(con, f"uscc:{code}")["handoff_region_code"]
        for code in (shenzhen, hangzhou, moved_in, local)
    }
    assert handoff == {shenzhen: "440300", hangzhou: "330100", moved_in: None, local: None}


def test_profile_lists_are_sorted_and_the_register_names_the_entity(
    con: duckdb.DuckDBPyConnection,
) -> None:
    second, first = make_uscc("91630102MA0000009"), make_uscc("91630102MA0000008")
    stage(
        con,
        entities=[{"uscc": first, "name": "城东区鑫源汽配商行", "region_code": "630102"}],
        listings=[
            listing("L1", "S9", 20.0, contact_hash="H", seller_uscc=second, shop_name="鑫源汽配"),
            listing("L2", "A1", 20.0, contact_hash="H", platform="jd", shop_name="鑫源车品"),
            listing(
                "L3",
                "A1",
                20.0,
                contact_hash="H",
                platform="jd",
                shop_name="鑫源车品",
                product_category="mobile_phones",
            ),
        ],
        complaints=[
            complaint("C1", 10, subject_name="鑫源汽车配件", shop_id="S9", subject_uscc=first)
        ],
        credit=[credit("K1", 10, first, "admin_penalty", product_category="fertilizer")],
    )
    build(con)
    p = profile_of(con, "shop:taobao:S9")
    assert pick(p, "entity_name", "uscc", "usccs", "shop_keys") == (
        "城东区鑫源汽配商行",
        first,
        f"{first};{second}",
        "jd:A1;taobao:S9",
    )
    assert p["names"] == ";".join(
        sorted(["鑫源汽配", "鑫源车品", "鑫源汽车配件", "企业" + first[-4:]])
    )
    assert p["product_categories"] == "auto_parts;mobile_phones"


def test_without_a_register_row_the_name_most_written_by_inspectors_and_complainants_wins(
    con: duckdb.DuckDBPyConnection,
) -> None:
    stage(
        con,
        listings=[listing(f"L{i}", "S1", 20.0, shop_name="宇美车品旗舰店") for i in range(3)],
        complaints=[
            complaint("C1", 10, subject_name="宇美车品"),
            complaint("C2", 11, subject_name="宇美"),
            complaint("C3", 12, subject_name="宇美"),
        ],
    )
    build(con)
    p = profile_of(con, "shop:taobao:S1")
    assert (p["entity_name"], p["names"]) == ("宇美", "宇美;宇美车品;宇美车品旗舰店")


# --- county bursts: models/episodes.py and the regional_episode term ---------------------


def anonymous(cid: str, before: int, region: str) -> dict[str, Any]:
    """A counterfeit seed complaint that names no business (it belongs to no entity)."""
    return complaint(
        cid, before, platform=None, shop_id=None, region_code=region, product_category="seeds"
    )


def seed_complaint(cid: str, before: int, uscc: str, region: str, **more: Any) -> dict[str, Any]:
    return complaint(
        cid,
        before,
        platform=None,
        shop_id=None,
        subject_uscc=uscc,
        region_code=region,
        product_category="seeds",
        **more,
    )


def episodes(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    """USCC → the episode columns of its entity (default EpisodeConfig: ± 14 / 30 days,
    5 voices / 2 businesses, 3 × the usual count)."""
    frame = regional_episodes(con, AS_OF, EpisodeConfig())
    codes = dict(
        con.execute(
            "select entity_id, substr(key, 6) from core.entity_keys where key like 'uscc:%'"
        ).fetchall()
    )
    return {codes[r[0]]: r[1:] for r in frame.rows()}


def scored(con: duckdb.DuckDBPyConnection, key: str) -> dict[str, Any]:
    """The entity's features with its episode columns, as the score reads them."""
    entity = features_of(con, key)["entity_id"]
    frame = with_episodes(
        con.sql("select * from features.entity_features").pl(),
        regional_episodes(con, AS_OF, EpisodeConfig()),
    )
    frame = frame.filter(pl.col("entity_id") == entity)
    return frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64)).row(0, named=True)


def test_complaints_shared_with_a_county_burst(con: duckdb.DuckDBPyConnection) -> None:
    burst = [134, 130, 125, 120, 110, 106]  # within ± 14 days of A1
    stage(
        con,
        complaints=[
            # A in 大通 (630121): one complaint inside a burst of 6 about no business, one of
            # its own 100 days later, and a patent complaint (not counterfeit: not counted)
            seed_complaint("A1", 120, A, "630121"),
            seed_complaint("A2", 20, A, "630121"),
            seed_complaint("A3", 120, A, "630121", infringement_type="patent"),
            *(anonymous(f"N{i}", before, "630121") for i, before in enumerate(burst)),
            anonymous("FAR", 135, "630121"),  # 15 days before A1: not nearby
            # B in 湟源 (630123): 4 others nearby are not a burst
            seed_complaint("B1", 120, B, "630123"),
            *(anonymous(f"M{i}", 118 + i, "630123") for i in range(4)),
            # C in 城东 (630102): 6 nearby, but 3 more in the other 151 days of the window
            # raise the bar to 5 + 3 × 3 × 29 / 151 ≈ 6.7 voices in the 29 days around C1
            seed_complaint("C1", 120, C, "630102"),
            *(anonymous(f"P{i}", 117 + i, "630102") for i in range(6)),
            *(anonymous(f"Q{i}", 10 + 5 * i, "630102") for i in range(3)),
        ],
    )
    build(con)
    assert episodes(con) == {A: (approx(1.0), 0, 0, approx(0.0), approx(6.0))}
    a = scored(con, f"uscc:{A}")
    # 2 counterfeit voices, 1 shared: the score counts 1 as the entity's own, and the
    # regional_episode term is the shared share 1 / (1 + 1)
    assert (a["counterfeit_voices_180d"], own_voices(a)) == (approx(2.0), approx(1.0))
    assert term_inputs(a)["regional_episode"] == approx(0.5)
    assert term_inputs(scored(con, f"uscc:{B}"))["regional_episode"] == 0.0


def test_failed_inspections_shared_with_a_county_burst(con: duckdb.DuckDBPyConnection) -> None:
    others = [make_uscc(f"92630121MA00000{i}0") for i in range(1, 3)]
    fail = {"result": "fail", "region_code": "630121"}
    stage(
        con,
        inspections=[
            # A: a severe and an other failure, 2 other businesses failing within ± 30 days
            inspection(
                "A1", 50, A, violation_type="counterfeit_trademark", seized_value_cny=5000.0, **fail
            ),
            inspection("A2", 55, A, violation_type="mislabeled", seized_value_cny=1000.0, **fail),
            inspection("A3", 52, A, "pass", region_code="630121", seized_value_cny=300.0),
            # each of these has only one other business (A) failing within ± 30 days
            inspection("O1", 40, others[0], violation_type="other", **fail),
            inspection("O2", 80, others[1], violation_type="other", **fail),  # A1 + 30 days
            # B in another county with one other business failing: no burst
            inspection(
                "B1", 50, B, violation_type="fake_origin", region_code="630123", result="fail"
            ),
            inspection("C1", 60, C, violation_type="other", region_code="630123", result="fail"),
        ],
    )
    build(con)
    assert episodes(con) == {A: (approx(0.0), 1, 1, approx(6000.0), approx(0.0))}
    a = scored(con, f"uscc:{A}")
    # both failures are shared, and so is their seizure; the pass inspection's is A's own
    assert (a["seized_value_365d"], term_inputs(a)["regional_episode"]) == (
        approx(6300.0),
        approx(1.0),
    )
