-- The listings of one entity's shops ($lead_id) as the score saw them: each listing as last
-- seen in the 8 weeks up to the run date, with its price against the reference price.
with

signals as (
    select * from features.listing_signals where entity_id = $lead_id
),

final as (
    select platform, shop_id, shop_key, listing_id, snapshot_date, product_category, brand,
           title, price_cny, price_ratio, sales_30d, ship_from_region_code, has_slang,
           has_honest_wording, is_active, snapshots_seen
    from signals
)

select * from final order by shop_key, listing_id
