-- One row per registered business (the register, with its USCC) whose records up to $as_of
-- name a product category: what the shop linker compares a storefront with
-- (transforms/shop_linkage.py, business links). The trade-name stem is added in Python
-- (names.business_stem).
--   shop_name    the registered name (the column the linker's stems are taken from)
--   ship_from    its registered location (a county, or a prefecture when the register says no more)
--   category     the most frequent product category of its inspections, complaints, credit
--                records and outcomes carrying its USCC, and of its shops' main categories
--                (core.shop_candidates of shops showing it; ties to the smallest)
-- A business whose records name no category is no candidate: a soft link never joins two
-- categories, so it could not be linked.
with

register as (
    select uscc, name, region_code from staging.entities
),
categorised as (
    select entity_uscc as uscc, product_category from staging.inspections
    where inspected_on <= $as_of and entity_uscc is not null
    union all
    select subject_uscc, product_category from staging.complaints
    where cast(received_at as date) <= $as_of and subject_uscc is not null
    union all
    select uscc, product_category from staging.credit
    where decided_on <= $as_of and uscc is not null and product_category is not null
    union all
    select entity_uscc, product_category from staging.outcomes
    where closed_on <= $as_of and entity_uscc is not null and product_category is not null
    union all
    select seller_uscc, category from core.shop_candidates
    where seller_uscc is not null and category is not null
),
categories as (
    select uscc, product_category as category
    from categorised
    group by uscc, product_category
    qualify row_number() over (partition by uscc order by count(*) desc, product_category) = 1
),

final as (
    select
        'uscc:' || r.uscc as key,
        r.name as shop_name,
        r.region_code as ship_from,
        c.category
    from register r
    join categories c using (uscc)
)

select * from final order by key
