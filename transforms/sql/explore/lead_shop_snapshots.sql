-- Per shop of each entity of $lead_ids and snapshot up to $as_of: listings, their median price
-- and estimated sales (the shop's history, longer than the 8 weeks the score reads).
with

listings as (
    select * from staging.listings where snapshot_date <= cast($as_of as date)
),
shops as (
    select record_id as shop_key, entity_id as lead_id from core.record_entities
    where feed = 'listings' and list_contains($lead_ids, entity_id)
),

final as (
    select s.lead_id, l.platform, l.shop_id, l.platform || ':' || l.shop_id as shop_key, l.snapshot_date,
           count(*) as listings, median(l.price_cny) as median_price_cny,
           cast(coalesce(sum(l.sales_30d), 0) as bigint) as sales_30d
    from listings l
    join shops s on s.shop_key = l.platform || ':' || l.shop_id
    group by all
)

select * from final order by lead_id, shop_key, snapshot_date
