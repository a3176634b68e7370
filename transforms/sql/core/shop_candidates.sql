-- One row per online shop with listings up to $as_of: what the shop linker compares
-- (transforms/shop_linkage.py). The trade-name stem is added in Python (names.trade_stem).
--   shop_name    the name of its latest snapshot
--   ship_from    the county it ships from most often; category: its most frequent category
--   shingles     the distinct two-character shingles of its distinct titles (title similarity)
--   brands       the brands it lists
--   price_ratio  the median of its listings' prices over the median price of the same category
--                and brand (else category) of all shops: its price pattern
--   opened_on    its first snapshot, null when that is the first snapshot of its platform
--                (open before the data starts: its opening date is unknown)
--   has_uscc     whether a listing shows a seller's USCC (a registered seller)
--   seller_uscc  the seller's USCC its listings show (the smallest, when they show several)
with

-- one pass over the versions in force (one row per listing and snapshot: the feed's key): a
-- row per listing and the values it showed (shop, name, ship-from, category, brand, seller),
-- with how many snapshots showed them, the first and the last, and the title and price of
-- the last; every aggregate below is one over these rows, not over the million snapshots
-- (the province on 2026-06-30: 100 k rows for 1.0 M; BENCHMARKS.md, Shop linkage). A
-- listing's last snapshot is in exactly one of its rows.
shown as materialized (
    select platform, shop_id, listing_id, shop_name, ship_from_region_code, product_category,
           brand, seller_uscc,
           count(*) as snapshots,
           min(snapshot_date) as first_seen,
           max(snapshot_date) as last_seen,
           arg_max({'title': title, 'price_cny': price_cny}, snapshot_date) as last_row
    from staging.listings where snapshot_date <= $as_of
    group by all
),
last_snapshots as (
    select platform, listing_id, max(last_seen) as last_seen from shown group by all
),
latest as (
    select platform, shop_id, product_category, brand,
           last_row.title as title, last_row.price_cny as price_cny
    from shown semi join last_snapshots using (platform, listing_id, last_seen)
),
brand_reference as (
    select product_category, brand, median(price_cny) as reference_price
    from latest where brand is not null group by all having count(*) >= 5
),
category_reference as (
    select product_category, median(price_cny) as reference_price from latest group by all
),
priced as (
    select l.platform, l.shop_id,
           l.price_cny / nullif(coalesce(b.reference_price, c.reference_price), 0) as ratio
    from latest l
    left join brand_reference b using (product_category, brand)
    left join category_reference c using (product_category)
),
platform_start as (
    select platform, min(first_seen) as first_snapshot from shown group by all
),
ship_froms as (
    select platform, shop_id, ship_from_region_code as ship_from
    from shown where ship_from_region_code is not null
    group by platform, shop_id, ship_from_region_code
    qualify row_number() over (
        partition by platform, shop_id order by sum(snapshots) desc, ship_from_region_code
    ) = 1
),
categories as (
    select platform, shop_id, product_category as category
    from shown where product_category is not null
    group by platform, shop_id, product_category
    qualify row_number() over (
        partition by platform, shop_id order by sum(snapshots) desc, product_category
    ) = 1
),
shops as (
    select platform, shop_id,
           arg_max(shop_name, (last_seen, shop_name)) as shop_name,
           list_sort(list_distinct(list(brand))) as brands,
           min(first_seen) as first_seen,
           bool_or(seller_uscc is not null) as has_uscc,
           min(seller_uscc) as seller_uscc
    from shown group by all
),
titles as (
    select distinct platform, shop_id, lower(title) as title from latest where title is not null
),
shingles as (
    select platform, shop_id, list_sort(list_distinct(flatten(list(
        list_transform(range(1, greatest(length(title), 2)), lambda i: substr(title, i, 2))
    )))) as shingles
    from titles group by all
),
prices as (
    select platform, shop_id, round(median(ratio), 3) as price_ratio from priced group by all
),

final as (
    select
        'shop:' || s.platform || ':' || s.shop_id as key,
        s.platform, s.shop_name, sf.ship_from, ct.category,
        nullif(s.brands, []) as brands,
        g.shingles,
        p.price_ratio,
        case when s.first_seen > f.first_snapshot then s.first_seen end as opened_on,
        s.has_uscc,
        s.seller_uscc
    from shops s
    join platform_start f using (platform)
    left join ship_froms sf using (platform, shop_id)
    left join categories ct using (platform, shop_id)
    left join shingles g using (platform, shop_id)
    left join prices p using (platform, shop_id)
)

select * from final order by key
