-- One row per registered business (the register, with its USCC) and product category it
-- trades in: what the shop linker compares a storefront with (transforms/shop_linkage.py,
-- business links). The trade-name stem is added in Python (names.business_stem).
--   shop_name    the registered name (the column the linker's stems are taken from)
--   ship_from    its registered location (a county, or a prefecture when the register says no more)
--   category     the most frequent product category of its inspections, complaints, credit
--                records and outcomes carrying its USCC up to $as_of, and of its shops' main
--                categories (core.shop_candidates of shops showing it; ties to the smallest);
--                and, in a row of its own, each category its registered industry names
--                ($industry_words, $industry_categories: categories.csv's
--                register_industry_words, `药品零售` -> pharmaceuticals): a pharmacy whose
--                records are mostly of pesticides still registered to sell medicines
-- A business whose records and industry name no category is no candidate: a soft link never
-- joins two categories, so it could not be linked.
with

register as (
    select uscc, name, region_code, industry from staging.entities
),
industry_words as (
    select unnest($industry_words) as word, unnest($industry_categories) as category
),
registered_industries as (
    select distinct r.uscc, w.category
    from register r
    join industry_words w on contains(r.industry, w.word)
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
recorded as (
    select uscc, product_category as category
    from categorised
    group by uscc, product_category
    qualify row_number() over (partition by uscc order by count(*) desc, product_category) = 1
),
categories as (
    select uscc, category from recorded
    union
    select uscc, category from registered_industries
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

select * from final order by key, category
