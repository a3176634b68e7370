"""The baseline score, its reasons, risk levels and the referral (两法衔接) rule."""

from __future__ import annotations

from typing import Any

import polars as pl

from models.scoring import (
    explain,
    has_risk_signal,
    load_baseline_config,
    load_referral_config,
    needs_referral_review,
    rank_leads,
)

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
