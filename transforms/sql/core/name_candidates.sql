-- One row per name key of core.record_keys (as of $as_of): what the probabilistic name
-- matcher compares (transforms/splink_match.py). A name key is name:<scope>:<normalised name>; beside it go
-- the numbers written in the name, how many names of the scope start with the same two
-- characters (a trade name such as 马记 or 高原 that many businesses use says little), and
-- the product categories and counties of the records that carry it. Counties are left
-- empty for shop names (scope = a platform): a complaint's county is the buyer's.
with

name_keys as (
    select distinct feed, record_id, key
    from core.record_keys where key_kind = 'name'
),
record_facts as (
    select 'complaints' as feed, complaint_id as record_id, region_code, product_category
    from staging.complaints
    union all
    select 'inspections', inspection_id, region_code, product_category from staging.inspections
    union all
    select 'credit', record_id, region_code, product_category from staging.credit
    union all
    select 'entities', uscc, region_code, null from staging.entities
    union all
    select distinct 'listings', platform || ':' || shop_id, null, product_category
    from staging.listings where snapshot_date <= $as_of
),

keyed as (
    select
        k.key,
        split_part(k.key, ':', 2) as scope,
        substr(k.key, length(split_part(k.key, ':', 2)) + 7) as match_name,
        f.region_code,
        f.product_category
    from name_keys k
    left join record_facts f using (feed, record_id)
),
per_key as (
    select
        key,
        scope,
        match_name,
        list_sort(list_distinct(list(product_category))) as categories,
        list_sort(list_distinct(list(region_code))) as counties
    from keyed
    group by key, scope, match_name
),

final as (
    select
        key,
        scope,
        match_name,
        count(*) over (partition by scope, substr(match_name, 1, 2)) as start_peers,
        nullif(array_to_string(regexp_extract_all(match_name, '[0-9]+'), ','), '') as numbers,
        nullif(categories, []) as categories,
        case when regexp_full_match(scope, '[0-9]+') then nullif(counties, []) end as counties
    from per_key
)

select * from final order by key
