-- Shops newly listing suspicious items, per in-province ship-from county, category and day.
--
-- A listing is suspicious when its title uses counterfeit slang ($slang_pattern, e.g. 高仿,
-- 原单, 1:1) and none of the honest wording of parts, refills and clearance sales
-- ($honest_pattern, e.g. 适用于, 兼容, 副厂): transforms/config/wording.yaml, matched on the
-- title folded to half-width lower case (transforms/wording.py). Platforms deliver weekly
-- snapshots, so the same listing is seen again every week: a listing counts on the snapshot
-- day it is first seen as suspicious, and again only after $memory_days days without being
-- seen. This turns weekly stock into daily events and never looks at later snapshots. A shop
-- counts once per county, category and day however many new listings it put up (one voice,
-- as one phone is for complaints): a new shop stocking twenty fakes is a lead, not a regional
-- wave.
-- Parameters: $as_of, $start (first day returned), $fullwidth, $halfwidth, $slang_pattern,
-- $honest_pattern, $memory_days.

with

listings as (
    select
        platform,
        listing_id,
        platform || ':' || shop_id as shop_key,
        snapshot_date as day,
        ship_from_region_code as region_code,
        product_category,
        -- translate() costs ~1.5 µs a title: only titles with a full-width character need it
        case
            when regexp_matches(title, '[' || $fullwidth || ']')
                then lower(translate(title, $fullwidth, $halfwidth))
            else lower(title)
        end as title
    from staging.listings
    where snapshot_date <= $as_of
),

suspicious as (
    select platform, listing_id, shop_key, day, region_code, product_category
    from listings
    where regexp_matches(title, $slang_pattern) and not regexp_matches(title, $honest_pattern)
),

sightings as (
    select
        *,
        day - lag(day) over (partition by platform, listing_id order by day) as days_since_seen
    from suspicious
),

first_sightings as (
    select *
    from sightings
    where days_since_seen is null or days_since_seen > $memory_days
),

final as (
    select
        region_code,
        product_category,
        day,
        cast(count(distinct shop_key) as double) as value
    from first_sightings
    where day >= $start
      and region_code like '63%'
    group by region_code, product_category, day
)

select * from final
