"""The score, its reasons, the model blend, risk levels, and the referral (两法衔接) and
hand-off (线索通报) rules."""

from __future__ import annotations

from typing import Any

import duckdb
import polars as pl
import pytest

from models.scoring import (
    TERMS,
    explain,
    explain_lead,
    has_risk_signal,
    load_baseline_config,
    load_referral_config,
    needs_referral_review,
    rank_leads,
)
from models.train import LeadModel, load_model_config
from tests.conftest import make_uscc
from transforms.warehouse import materialize

QUIET: dict[str, Any] = {
    "shops": 1,
    "platforms": 1,
    "registered_codes": 0,
    "complaints_30d": 0,
    "complaints_90d": 0,
    "complaints_180d": 0,
    "complaint_voices_180d": 0.0,
    "counterfeit_voices_180d": 0.0,
    "voices_last_90d": 0.0,
    "voices_prior_90d": 0.0,
    "frequent_complainant_complaints": 0,
    "voices_per_1k_sales": 0.0,
    "inspections_365d": 0,
    "failed_inspections_365d": 0,
    "severe_failures_365d": 0,
    "smoothed_fail_rate": None,
    "days_since_failure": None,
    "seized_value_365d": 0.0,
    "active_listings": 10,
    "listings_seen_8w": 10,
    "low_price_share": 0.0,
    "median_price_ratio": 1.0,
    "slang_share": 0.0,
    "honest_wording_share": 0.0,
    "sales_30d": 100.0,
    "turnover_30d": 5000.0,
    "listing_churn": 0.0,
    "penalty_decay": 0.0,
    "penalties_3y": 0,
    "on_dishonesty_list": False,
    "on_abnormal_list": False,
    "on_red_list": False,
    "penalty_amount": 0.0,
    "penalties_180d": 0,
    "prior_confirmed": 0,
    "prior_not_confirmed": 0,
    "prior_illegal_turnover": 0.0,
}
RING = QUIET | {
    "shops": 4,
    "platforms": 2,
    "low_price_share": 0.8,
    "median_price_ratio": 0.38,
    "slang_share": 0.5,
    "complaints_180d": 6,
    "counterfeit_voices_180d": 5.0,
    "turnover_30d": 20000.0,
}
FLAGSHIP = QUIET | {"complaints_180d": 40, "counterfeit_voices_180d": 30.0, "sales_30d": 200000.0}


def test_ring_outranks_flagship_store_with_many_complaints() -> None:
    config = load_baseline_config()
    ring_score, ring_reasons = explain(RING, config)
    flagship_score, _ = explain(FLAGSHIP, config)
    assert ring_score > 0.9 > 0.3 > flagship_score
    assert "参考价的38%" in ring_reasons and "4 shops" in ring_reasons


def test_quiet_entity_is_not_a_lead() -> None:
    assert not has_risk_signal(QUIET)
    assert has_risk_signal(QUIET | {"complaints_180d": 1})


def test_referral_thresholds_by_category() -> None:
    referral = load_referral_config()
    seeds = RING | {
        "product_categories": "seeds",
        "turnover_30d": 4000.0,
    }  # 24 000 yuan in 6 months
    phones = RING | {"product_categories": "mobile_phones", "turnover_30d": 4000.0}
    assert needs_referral_review(seeds, 0.95, referral)
    assert not needs_referral_review(phones, 0.95, referral)
    assert not needs_referral_review(seeds, 0.2, referral)


def test_rank_leads_orders_by_score_then_lead_id_without_gaps() -> None:
    rows = [
        RING | {"entity_id": "CR-B"},
        RING | {"entity_id": "CR-A"},
        FLAGSHIP | {"entity_id": "CR-C"},
    ]
    rows.append(QUIET | {"entity_id": "CR-Q"})
    features = pl.DataFrame(rows)
    profile = pl.DataFrame(
        {
            "entity_id": ["CR-A", "CR-B", "CR-C", "CR-Q"],
            "entity_name": ["a", "b", "c", "q"],
            "uscc": [None] * 4,
            "usccs": [None] * 4,
            "shop_keys": ["t:1", "t:2", "t:3", "t:4"],
            "region_code": ["630102"] * 4,
            "product_categories": ["mobile_phones"] * 4,
            "names": [None] * 4,
            "handoff_region_code": [None] * 4,
        },
        schema_overrides={c: pl.String for c in ["uscc", "usccs", "names", "handoff_region_code"]},
    )
    leads = rank_leads(features, profile)
    assert leads["lead_id"].to_list() == ["CR-A", "CR-B", "CR-C"]
    assert leads["rank"].to_list() == [1, 2, 3]
    assert leads["reasons"].str.len_chars().min() > 0


# --- regional episodes, mitigating reasons, the model blend --------------------------------

SURGE_SHOP = QUIET | {
    "complaints_180d": 14,
    "counterfeit_voices_180d": 14.0,
    "failed_inspections_365d": 3,
    "severe_failures_365d": 3,
    "seized_value_365d": 90000.0,
    "days_since_failure": 20,
}


def test_signals_shared_with_a_county_burst_do_not_count_against_one_business() -> None:
    config = load_baseline_config()
    alone, _ = explain(SURGE_SHOP, config)
    shared = SURGE_SHOP | {
        "episode_voices": 14.0,
        "episode_severe_failures": 3,
        "episode_other_failures": 0,
        "episode_seized_value": 90000.0,
        "episode_peer_voices": 40.0,
    }
    in_burst, reasons = explain(shared, config)
    assert alone > 0.9 and in_burst < 0.05
    assert "减分 / mitigating" in reasons and "集中爆发" in reasons and "county-wide" in reasons
    half = SURGE_SHOP | {"episode_voices": 7.0}
    assert in_burst < explain(half, config)[0] < alone


def test_red_list_is_shown_as_a_mitigating_factor_after_the_reasons() -> None:
    _, reasons = explain(RING | {"on_red_list": True}, load_baseline_config())
    parts = reasons.split("；")
    assert parts[-1] == "减分 / mitigating: 列入守信激励名单 / on the red list"
    assert parts[0].startswith("4家店铺") and "参考价的38%" in reasons


def toy_model(coef: dict[str, float], labelled: float = 300.0) -> LeadModel:
    terms = tuple(TERMS)
    model = LeadModel(
        version="lm-test",
        terms=terms,
        coef=tuple(coef.get(t, 0.0) for t in terms),
        intercept=-3.0,
        baseline_coef=0.0,
        platt_slope=1.0,
        platt_intercept=0.0,
        labelled=labelled,
    )
    return model.for_scoring(load_model_config())


def test_blended_score_and_reasons_follow_the_model_weight() -> None:
    config = load_baseline_config()
    model = toy_model({"complaints": 8.0})
    e = explain_lead(RING, config, model)
    k = load_model_config().blend_k
    assert e.model_weight == pytest.approx(300 / (300 + k))
    assert e.model_probability is not None and 0 <= e.model_probability <= 1
    expected = e.model_weight * e.model_probability + (1 - e.model_weight) * e.baseline
    assert e.score == pytest.approx(expected)
    assert e.reasons.startswith("近180天5起"), "the model weighs complaints most: they lead"
    assert explain_lead(RING, config).reasons.startswith("4家店铺")


def test_more_labels_give_the_model_more_weight() -> None:
    weights = [toy_model({}, n).blend_weight for n in (0, 50, 300, 3000)]
    assert weights[0] == 0 and weights == sorted(weights) and weights[-1] < 1


def test_probabilities_stay_within_bounds_for_extreme_inputs() -> None:
    model = toy_model({"low_price": 50.0, "red_list": -50.0})
    for x in ({"low_price": 1e6}, {"red_list": 1e6}, {}):
        p = model.probability({t: x.get(t, 0.0) for t in TERMS})
        assert 0.0 <= p <= 1.0


def test_risk_levels_fall_with_rank_with_and_without_a_model() -> None:
    rows = [
        QUIET | {"entity_id": f"CR-{i:02d}", "complaints_180d": 1, "counterfeit_voices_180d": i}
        for i in range(1, 40, 2)
    ] + [RING | {"entity_id": "CR-RING"}]
    features = pl.DataFrame(rows)
    profile = pl.DataFrame(
        {
            "entity_id": features["entity_id"],
            "entity_name": features["entity_id"],
            "shop_keys": features["entity_id"],
            "region_code": ["630102"] * features.height,
            "product_categories": ["mobile_phones"] * features.height,
        }
    ).with_columns(
        pl.lit(None, pl.String).alias(c) for c in ("uscc", "usccs", "names", "handoff_region_code")
    )
    order = {"high": 0, "medium": 1, "low": 2}
    for model in (None, toy_model({"complaints": 2.0, "ring": 1.0})):
        leads = rank_leads(features, profile, model=model)
        levels = [order[v] for v in leads["risk_level"]]
        assert levels == sorted(levels)
        assert leads["reasons"].str.len_chars().min() > 0
        assert set(leads["risk_level"]) >= {"high", "low"}
        assert (leads["model_version"].null_count() == 0) is (model is not None)


def test_pharmaceuticals_need_no_turnover_for_referral_review() -> None:
    referral = load_referral_config()
    drugs = QUIET | {"product_categories": "pharmaceuticals", "turnover_30d": 10.0}
    mixed = QUIET | {"product_categories": "mobile_phones;seeds", "turnover_30d": 4000.0}
    assert needs_referral_review(drugs, referral.min_score, referral)
    assert not needs_referral_review(drugs, referral.min_score - 0.01, referral)
    assert needs_referral_review(mixed, 0.9, referral), "the lowest threshold of its categories"


def test_handoff_region_comes_from_the_register_else_from_the_uscc(
    con: duckdb.DuckDBPyConnection,
) -> None:
    outside = make_uscc("91440300MA5F00001")  # registered in Shenzhen (440300)
    unregistered = make_uscc("92330100MA2B00002")  # Hangzhou (330100), not in the register
    local = make_uscc("91630100MA7A00003")  # Xining
    moved = make_uscc("91630100MA7A00004")  # a Xining code, registered now in Lanzhou
    for ddl in PROFILE_TABLES:
        con.execute(ddl)
    codes = [outside, unregistered, local, moved]
    for i, code in enumerate(codes):
        con.execute("insert into core.entity_keys values (?, ?)", [f"uscc:{code}", f"CR-{i}"])
    for code, region in ((outside, "440300"), (local, "630102"), (moved, "620102")):
        con.execute("insert into staging.entities values (?, ?, ?)", [code, "某公司", region])
    materialize(
        con, "features.entity_profile", "features/entity_profile.sql", {"as_of": "2026-06-30"}
    )
    rows = dict(
        con.execute("select entity_id, handoff_region_code from features.entity_profile").fetchall()
    )
    assert rows == {"CR-0": "440300", "CR-1": "330100", "CR-2": None, "CR-3": "620102"}


PROFILE_TABLES = [
    "create schema core",
    "create schema staging",
    "create schema features",
    "create table core.entity_keys (key VARCHAR, entity_id VARCHAR)",
    "create table core.record_entities (feed VARCHAR, record_id VARCHAR, entity_id VARCHAR)",
    "create table core.shop_links (key_a VARCHAR, key_b VARCHAR, match_probability DOUBLE, "
    "stem VARCHAR, ship_from VARCHAR, category VARCHAR, title_similarity DOUBLE, rule VARCHAR)",
    "create table staging.entities (uscc VARCHAR, name VARCHAR, region_code VARCHAR)",
    "create table staging.complaints (complaint_id VARCHAR, subject_name VARCHAR, "
    "region_code VARCHAR, product_category VARCHAR, received_at TIMESTAMP)",
    "create table staging.inspections (inspection_id VARCHAR, entity_name VARCHAR, "
    "region_code VARCHAR, product_category VARCHAR, inspected_on DATE)",
    "create table staging.credit (record_id VARCHAR, entity_name VARCHAR, decided_on DATE)",
    "create table staging.listings (platform VARCHAR, shop_id VARCHAR, shop_name VARCHAR, "
    "snapshot_date DATE)",
    "create table features.listing_signals (listing_id VARCHAR, entity_id VARCHAR, "
    "product_category VARCHAR, ship_from_region_code VARCHAR, shop_key VARCHAR)",
]


def test_float_noise_in_a_shared_count_is_no_reason() -> None:
    # 0.9 voices less the same voices, summed as 0.3 + 0.3 + 0.3, shared with a county burst
    # is 1e-16, not 0
    noisy = QUIET | {
        "complaints_180d": 3,
        "counterfeit_voices_180d": 0.9,
        "episode_voices": 0.3 + 0.3 + 0.3,
    }
    assert noisy["counterfeit_voices_180d"] != noisy["episode_voices"]
    _, reasons = explain(noisy, load_baseline_config())
    # only the burst, as a mitigating factor; no "0 credible complaints" reason
    assert reasons.startswith("减分 / mitigating: 1起投诉") and "近180天" not in reasons
