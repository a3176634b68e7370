-- Activity of every (county, category) and (prefecture, category) pair as of $as_of:
-- credibility-weighted complaints and failed inspections over the last 30 / 90 days and the
-- 90 days before the last 30 (for the trend), suspicious listings shipped from there in the
-- last 8 weeks, and the summed risk of the leads located there.
with

regions as (
    select region_code, prefecture_code from core.regions
),
complaints as (
    select region_code, product_category, received_on as day, weight as value,
           'complaints' as signal
    from features.complaint_signals
),
failures as (
    select region_code, product_category, inspected_on as day, 1.0 as value,
           'failed_inspections' as signal
    from staging.inspections
    where result = 'fail'
      and inspected_on between cast($as_of as date) - 119 and cast($as_of as date)
),
suspicious_listings as (
    select ship_from_region_code as region_code, product_category, count(*) as listings
    from features.listing_signals
    where ship_from_region_code like '63%'
      and (has_slang or (price_ratio < 0.6 and not has_honest_wording))
    group by all
),
leads as (
    select region_code, unnest(string_split(product_categories, ';')) as product_category, score
    from scores.entity_leads
    where region_code is not null
),

events as (
    select * from complaints union all select * from failures
),
county_events as (
    select
        region_code, product_category,
        coalesce(sum(value) filter (where signal = 'complaints' and day > cast($as_of as date) - 90), 0)
            as complaints_90d,
        coalesce(sum(value) filter (where signal = 'failed_inspections' and day > cast($as_of as date) - 90), 0)
            as failed_90d,
        coalesce(sum(value) filter (where day > cast($as_of as date) - 30), 0) as events_last_30d,
        coalesce(sum(value) filter (
            where day between cast($as_of as date) - 119 and cast($as_of as date) - 30
        ), 0) as events_prior_90d
    from events group by all
),
county_leads as (
    select region_code, product_category, sum(score) as lead_risk, count(*) as leads
    from leads group by all
),
county as (
    select
        coalesce(e.region_code, s.region_code, l.region_code) as region_code,
        coalesce(e.product_category, s.product_category, l.product_category) as product_category,
        coalesce(e.complaints_90d, 0) as complaints_90d,
        coalesce(e.failed_90d, 0) as failed_90d,
        coalesce(s.listings, 0) as suspicious_listings,
        coalesce(l.lead_risk, 0) as lead_risk,
        coalesce(l.leads, 0) as leads,
        coalesce(e.events_last_30d, 0) as events_last_30d,
        coalesce(e.events_prior_90d, 0) as events_prior_90d
    from county_events e
    full join suspicious_listings s using (region_code, product_category)
    full join county_leads l using (region_code, product_category)
),
in_province as (
    select c.*, r.prefecture_code from county c join regions r using (region_code)
),
prefecture as (
    select
        prefecture_code as region_code, product_category,
        sum(complaints_90d) as complaints_90d, sum(failed_90d) as failed_90d,
        sum(suspicious_listings) as suspicious_listings, sum(lead_risk) as lead_risk,
        sum(leads) as leads, sum(events_last_30d) as events_last_30d,
        sum(events_prior_90d) as events_prior_90d
    from in_province group by all
),

final as (
    select 'county' as level, * exclude (prefecture_code) from in_province
    union all
    select 'prefecture' as level, * from prefecture
)

select * from final
where complaints_90d > 0 or failed_90d > 0 or suspicious_listings > 0
