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

listings as materialized (
    select platform, shop_id, listing_id, shop_name, ship_from_region_code, product_category,
           brand, title, price_cny, seller_uscc, snapshot_date
    from staging.listings where snapshot_date <= $as_of
),
-- each listing's last snapshot ((platform, listing_id, snapshot_date) is the feed's key): an
-- aggregate and a semi join, once, not a window sorting every snapshot with its title for each
-- use (0.85 s of CPU for 1.2 s at one thread, the province on 2026-05-18)
last_snapshots as (
    select platform, listing_id, max(snapshot_date) as snapshot_date from listings group by all
),
latest as materialized (
    select * from listings semi join last_snapshots using (platform, listing_id, snapshot_date)
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
    select platform, min(snapshot_date) as first_snapshot from listings group by all
),
-- the most frequent value, ties to the smallest (mode() may break ties either way)
ship_froms as (
    select platform, shop_id, ship_from_region_code as ship_from
    from listings where ship_from_region_code is not null
    group by platform, shop_id, ship_from_region_code
    qualify row_number() over (
        partition by platform, shop_id order by count(*) desc, ship_from_region_code
    ) = 1
),
categories as (
    select platform, shop_id, product_category as category
    from listings where product_category is not null
    group by platform, shop_id, product_category
    qualify row_number() over (
        partition by platform, shop_id order by count(*) desc, product_category
    ) = 1
),
shops as (
    select platform, shop_id,
           arg_max(shop_name, (snapshot_date, shop_name)) as shop_name,
           list_sort(list_distinct(list(brand))) as brands,
           min(snapshot_date) as first_seen,
           bool_or(seller_uscc is not null) as has_uscc,
           min(seller_uscc) as seller_uscc
    from listings group by all
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
