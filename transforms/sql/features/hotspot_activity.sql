-- Observed and expected activity of every (county, category) cell as of $as_of, and their sums
-- per (prefecture, category), for the hotspot score (models/hotspots.py). Each signal of the
-- last 90 days (8 weeks for listings) comes with what the place's size, its businesses and the
-- season would lead one to expect of it:
--   complaints   credibility-weighted voices; expected = the category's province total of the
--                same 90 days (so the season is in it) × the county's share of the province's
--                complaints about *other* categories over 180 days (its size, not this cell's
--                own excess);
--   failed       failed inspections; expected = the cell's inspections with a result × the
--                category's province fail rate over 365 days;
--   listings     suspicious listings (slang, or under 60 % of the reference without honest
--                wording) shipped from the county; expected = all the cell's listings × the
--                category's province share of suspicious ones;
--   lead risk    the summed score of the leads located there; expected = the category's
--                province total × the same size share as complaints.
-- Every cell of the grid is a row (inactive ones too: the shrinkage prior is estimated over
-- all of them); `active` marks the pairs the export lists (activity in the last 90 days).
with

regions as (
    select region_code, prefecture_code from core.regions
),
complaints as (
    select c.region_code, c.product_category, c.received_on, c.weight
    from features.complaint_signals c
    join regions r using (region_code)
    where c.received_on <= cast($as_of as date)
),
inspections as (
    select i.region_code, i.product_category, i.inspected_on, i.result
    from staging.inspections i
    join regions r using (region_code)
    where i.inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
      and i.result in ('pass', 'fail')
),
listings as (
    select ship_from_region_code as region_code, product_category,
           has_slang or (price_ratio < 0.6 and not has_honest_wording) as suspicious
    from features.listing_signals
    join regions r on r.region_code = ship_from_region_code
),
leads as (
    select region_code, unnest(string_split(product_categories, ';')) as product_category, score
    from scores.entity_leads
    join regions using (region_code)
),

categories as (
    select distinct product_category from complaints
    union select distinct product_category from inspections
    union select distinct product_category from listings
    union select distinct product_category from leads
),
grid as (
    select r.region_code, r.prefecture_code, c.product_category
    from regions r cross join categories c
    where c.product_category is not null and c.product_category <> ''
),
complaint_cells as (
    select
        region_code, product_category,
        sum(weight) filter (where received_on > cast($as_of as date) - 90) as complaints_90d,
        sum(weight) as complaints_180d,
        sum(weight) filter (where received_on > cast($as_of as date) - 30) as last_30d,
        sum(weight) filter (
            where received_on between cast($as_of as date) - 119 and cast($as_of as date) - 30
        ) as prior_90d
    from complaints group by all
),
inspection_cells as (
    select
        region_code, product_category,
        count(*) filter (where result = 'fail' and inspected_on > cast($as_of as date) - 90)
            as failed_90d,
        count(*) filter (where inspected_on > cast($as_of as date) - 90) as inspected_90d,
        count(*) filter (where result = 'fail' and inspected_on > cast($as_of as date) - 30)
            as failed_last_30d,
        count(*) filter (
            where result = 'fail'
              and inspected_on between cast($as_of as date) - 119 and cast($as_of as date) - 30
        ) as failed_prior_90d
    from inspections group by all
),
fail_rates as (
    select product_category, avg(case when result = 'fail' then 1.0 else 0.0 end) as fail_rate
    from inspections group by all
),
listing_cells as (
    select region_code, product_category,
           count(*) filter (where suspicious) as suspicious_listings, count(*) as listings
    from listings group by all
),
suspicious_shares as (
    select product_category, avg(case when suspicious then 1.0 else 0.0 end) as suspicious_share
    from listings group by all
),
lead_cells as (
    select region_code, product_category, sum(score) as lead_risk, count(*) as leads
    from leads group by all
),

cells as (
    select
        g.region_code, g.prefecture_code, g.product_category,
        coalesce(c.complaints_90d, 0) as complaints_90d,
        coalesce(c.complaints_180d, 0) as complaints_180d,
        coalesce(i.failed_90d, 0) as failed_90d,
        coalesce(i.inspected_90d, 0) as inspected_90d,
        coalesce(s.suspicious_listings, 0) as suspicious_listings,
        coalesce(s.listings, 0) as listings,
        coalesce(l.lead_risk, 0) as lead_risk,
        coalesce(l.leads, 0) as leads,
        coalesce(c.last_30d, 0) + coalesce(i.failed_last_30d, 0) as events_last_30d,
        coalesce(c.prior_90d, 0) + coalesce(i.failed_prior_90d, 0) as events_prior_90d
    from grid g
    left join complaint_cells c using (region_code, product_category)
    left join inspection_cells i using (region_code, product_category)
    left join listing_cells s using (region_code, product_category)
    left join lead_cells l using (region_code, product_category)
),
sizes as (
    -- the county's complaints about the other categories, and the province's per category
    select *,
           sum(complaints_180d) over (partition by region_code) - complaints_180d as county_other,
           sum(complaints_90d) over (partition by product_category) as category_90d,
           sum(lead_risk) over (partition by product_category) as category_lead_risk
    from cells
),
shares as (
    select *,
           county_other / nullif(sum(county_other) over (partition by product_category), 0)
               as size_share
    from sizes
),
expected as (
    select
        s.*,
        coalesce(s.category_90d * s.size_share, 0) as expected_complaints,
        s.inspected_90d * coalesce(f.fail_rate, 0) as expected_failed,
        s.listings * coalesce(x.suspicious_share, 0) as expected_listings,
        coalesce(s.category_lead_risk * s.size_share, 0) as expected_lead_risk
    from shares s
    left join fail_rates f using (product_category)
    left join suspicious_shares x using (product_category)
),
county as (
    select
        region_code, prefecture_code, product_category,
        complaints_90d, expected_complaints, failed_90d, expected_failed,
        suspicious_listings, expected_listings, lead_risk, expected_lead_risk, leads,
        events_last_30d, events_prior_90d
    from expected
),
prefecture as (
    select
        prefecture_code as region_code, product_category,
        sum(complaints_90d) as complaints_90d, sum(expected_complaints) as expected_complaints,
        sum(failed_90d) as failed_90d, sum(expected_failed) as expected_failed,
        sum(suspicious_listings) as suspicious_listings,
        sum(expected_listings) as expected_listings,
        sum(lead_risk) as lead_risk, sum(expected_lead_risk) as expected_lead_risk,
        sum(leads) as leads, sum(events_last_30d) as events_last_30d,
        sum(events_prior_90d) as events_prior_90d
    from county group by all
),

final as (
    select 'county' as level, * exclude (prefecture_code) from county
    union all
    select 'prefecture' as level, * from prefecture
)

select *, complaints_90d > 0 or failed_90d > 0 or suspicious_listings > 0 as active
from final
