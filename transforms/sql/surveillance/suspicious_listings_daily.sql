-- Shops newly listing suspicious items, per in-province ship-from county, category and day.
--
-- A listing is suspicious when its title uses counterfeit slang ($slang_terms, e.g. 高仿,
-- 原单, 1:1) and none of the honest wording of parts, refills and clearance sales
-- ($honest_terms, e.g. 适用于, 兼容, 副厂). Platforms deliver weekly snapshots, so the same
-- listing is seen again every week: a listing counts on the snapshot day it is first seen
-- as suspicious, and again only after $memory_days days without being seen. This turns
-- weekly stock into daily events and never looks at later snapshots. A shop counts once per
-- county, category and day however many new listings it put up (one voice, as one phone is
-- for complaints): a new shop stocking twenty fakes is a lead, not a regional wave.
-- Parameters: $as_of, $start (first day returned), $slang_terms, $honest_terms, $memory_days.

with

listings as (
    select
        platform,
        listing_id,
        platform || ':' || shop_id as shop_key,
        snapshot_date as day,
        ship_from_region_code as region_code,
        product_category,
        lower(title) as title
    from staging.listings
    where snapshot_date <= $as_of
),

slang_terms as (
    select lower(unnest($slang_terms)) as term
),

honest_terms as (
    select lower(unnest($honest_terms)) as term
),

suspicious as (
    select platform, listing_id, shop_key, day, region_code, product_category
    from listings
    where exists (select 1 from slang_terms where contains(listings.title, slang_terms.term))
      and not exists (
          select 1 from honest_terms where contains(listings.title, honest_terms.term)
      )
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
