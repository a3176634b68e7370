-- Risk features of every resolved entity as of $as_of (see README "Features" for meanings).
with

complaints as (
    select * from features.complaint_signals where entity_id is not null
),
listings as (
    select * from features.listing_signals
),
inspections as (
    select i.*, e.entity_id
    from staging.inspections i
    join core.record_entities e on e.feed = 'inspections' and e.record_id = i.inspection_id
    where i.inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
),
credit as (
    select c.*, e.entity_id
    from staging.credit c
    join core.record_entities e on e.feed = 'credit' and e.record_id = c.record_id
    where c.decided_on between cast($as_of as date) - 1094 and cast($as_of as date)
),
outcomes as (
    -- linked by the outcome's shop or USCC; else by the lead it answers (lead_id = entity_id);
    -- confirmed: the positive labels of models/config/model.yaml (移送公安 counts as confirmed)
    select
        o.*,
        coalesce(e.entity_id, l.entity_id) as entity_id,
        o.outcome in ('confirmed', 'referred_to_police') as confirmed
    from staging.outcomes o
    left join core.record_entities e on e.feed = 'outcomes' and e.record_id = o.outcome_id
    left join (select distinct entity_id from core.entity_keys) l on l.entity_id = o.lead_id
    where o.closed_on <= cast($as_of as date) and coalesce(e.entity_id, l.entity_id) is not null
),
entity_keys as (
    select * from core.entity_keys
),
all_inspections as (
    select * from staging.inspections
    where inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
      and result <> 'pending'
),

category_prior as (
    select product_category, avg(case when result = 'fail' then 1.0 else 0.0 end) as prior_fail_rate
    from all_inspections group by all
),
complaint_features as (
    select
        entity_id,
        count(*) filter (where received_on > cast($as_of as date) - 30) as complaints_30d,
        count(*) filter (where received_on > cast($as_of as date) - 90) as complaints_90d,
        count(*) as complaints_180d,
        sum(weight) as complaint_voices_180d,
        coalesce(sum(weight) filter (
            where list_contains($counterfeit_types, infringement_type)
        ), 0) as counterfeit_voices_180d,
        coalesce(sum(weight) filter (where received_on > cast($as_of as date) - 90), 0)
            as voices_last_90d,
        coalesce(sum(weight) filter (where received_on <= cast($as_of as date) - 90), 0)
            as voices_prior_90d,
        count(*) filter (where from_frequent_complainant) as frequent_complainant_complaints
    from complaints group by all
),
inspection_features as (
    select
        i.entity_id,
        count(*) filter (where i.result <> 'pending') as inspections_365d,
        count(*) filter (where i.result = 'fail') as failed_inspections_365d,
        count(*) filter (
            where i.result = 'fail'
              and list_contains($severe_types, i.violation_type)
        ) as severe_failures_365d,
        -- a pending inspection (result not known yet) counts in neither the entity's own rate
        -- nor the category prior it is shrunk towards; with only pending ones it is empty
        (count(*) filter (where i.result = 'fail')
            + 4 * avg(p.prior_fail_rate) filter (where i.result <> 'pending'))
            / (count(*) filter (where i.result <> 'pending') + 4) as smoothed_fail_rate,
        cast($as_of as date) - max(i.inspected_on) filter (where i.result = 'fail')
            as days_since_failure,
        coalesce(sum(i.seized_value_cny), 0) as seized_value_365d
    from inspections i
    left join category_prior p using (product_category)
    group by all
),
listing_features as (
    select
        entity_id,
        count(*) filter (where is_active) as active_listings,
        count(*) as listings_seen_8w,
        avg(case when price_ratio < 0.6 and not has_honest_wording then 1.0 else 0.0 end)
            as low_price_share,
        median(price_ratio) as median_price_ratio,
        avg(case when has_slang then 1.0 else 0.0 end) as slang_share,
        avg(case when has_honest_wording then 1.0 else 0.0 end) as honest_wording_share,
        coalesce(sum(sales_30d) filter (where is_active), 0) as sales_30d,
        coalesce(sum(price_cny * sales_30d) filter (where is_active), 0) as turnover_30d,
        1.0 - count(*) filter (where is_active) / count(*) as listing_churn
    from listings group by all
),
ring as (
    select
        entity_id,
        count(*) filter (where key like 'shop:%') as shops,
        count(distinct split_part(key, ':', 2)) filter (where key like 'shop:%') as platforms,
        count(*) filter (where key like 'uscc:%') as registered_codes
    from entity_keys group by all
),
credit_features as (
    select
        entity_id,
        coalesce(sum(exp(-(cast($as_of as date) - decided_on) / 365.0))
            filter (where record_type = 'admin_penalty'), 0) as penalty_decay,
        count(*) filter (where record_type = 'admin_penalty') as penalties_3y,
        bool_or(record_type = 'serious_dishonesty_list') as on_dishonesty_list,
        bool_or(record_type = 'abnormal_operation') as on_abnormal_list,
        bool_or(record_type = 'red_list') as on_red_list,
        coalesce(sum(amount_cny) filter (where record_type = 'admin_penalty'), 0) as penalty_amount,
        count(*) filter (
            where record_type in ('admin_penalty', 'serious_dishonesty_list')
              and decided_on > cast($as_of as date) - 180
        ) as penalties_180d
    from credit group by all
),
outcome_features as (
    select
        entity_id,
        count(*) filter (where confirmed) as prior_confirmed,
        count(*) filter (where outcome = 'not_confirmed') as prior_not_confirmed,
        -- 违法经营额 is a finding of the case: a case that did not confirm it found none
        coalesce(sum(illegal_turnover_cny) filter (where confirmed), 0) as prior_illegal_turnover
    from outcomes group by all
),

final as (
    select
        r.entity_id,
        r.shops, r.platforms, r.registered_codes,
        coalesce(c.complaints_30d, 0) as complaints_30d,
        coalesce(c.complaints_90d, 0) as complaints_90d,
        coalesce(c.complaints_180d, 0) as complaints_180d,
        coalesce(c.complaint_voices_180d, 0) as complaint_voices_180d,
        coalesce(c.counterfeit_voices_180d, 0) as counterfeit_voices_180d,
        coalesce(c.voices_last_90d, 0) as voices_last_90d,
        coalesce(c.voices_prior_90d, 0) as voices_prior_90d,
        coalesce(c.frequent_complainant_complaints, 0) as frequent_complainant_complaints,
        coalesce(c.complaint_voices_180d, 0) / (1 + coalesce(l.sales_30d, 0) * 6 / 1000.0)
            as voices_per_1k_sales,
        coalesce(i.inspections_365d, 0) as inspections_365d,
        coalesce(i.failed_inspections_365d, 0) as failed_inspections_365d,
        coalesce(i.severe_failures_365d, 0) as severe_failures_365d,
        i.smoothed_fail_rate,
        i.days_since_failure,
        coalesce(i.seized_value_365d, 0) as seized_value_365d,
        coalesce(l.active_listings, 0) as active_listings,
        coalesce(l.listings_seen_8w, 0) as listings_seen_8w,
        coalesce(l.low_price_share, 0) as low_price_share,
        l.median_price_ratio,
        coalesce(l.slang_share, 0) as slang_share,
        coalesce(l.honest_wording_share, 0) as honest_wording_share,
        coalesce(l.sales_30d, 0) as sales_30d,
        coalesce(l.turnover_30d, 0) as turnover_30d,
        coalesce(l.listing_churn, 0) as listing_churn,
        coalesce(cr.penalty_decay, 0) as penalty_decay,
        coalesce(cr.penalties_3y, 0) as penalties_3y,
        coalesce(cr.on_dishonesty_list, false) as on_dishonesty_list,
        coalesce(cr.on_abnormal_list, false) as on_abnormal_list,
        coalesce(cr.on_red_list, false) as on_red_list,
        coalesce(cr.penalty_amount, 0) as penalty_amount,
        coalesce(cr.penalties_180d, 0) as penalties_180d,
        coalesce(o.prior_confirmed, 0) as prior_confirmed,
        coalesce(o.prior_not_confirmed, 0) as prior_not_confirmed,
        coalesce(o.prior_illegal_turnover, 0) as prior_illegal_turnover
    from ring r
    left join complaint_features c using (entity_id)
    left join inspection_features i using (entity_id)
    left join listing_features l using (entity_id)
    left join credit_features cr using (entity_id)
    left join outcome_features o using (entity_id)
)

select * from final
