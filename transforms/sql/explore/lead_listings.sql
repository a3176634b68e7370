-- The listings of the shops of each entity of $lead_ids as the score saw them: each listing as last
-- seen in the 8 weeks up to the run date, with its price against the reference price.
with

signals as (
    select * from features.listing_signals where list_contains($lead_ids, entity_id)
),

final as (
    select entity_id as lead_id, platform, shop_id, shop_key, listing_id, snapshot_date, product_category, brand,
           title, price_cny, price_ratio, sales_30d, ship_from_region_code, has_slang,
           has_honest_wording, is_active, snapshots_seen
    from signals
)

select * from final order by lead_id, shop_key, listing_id
