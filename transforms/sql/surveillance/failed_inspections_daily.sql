-- Failed inspections and sampling tests per county, product category and day.
-- Parameters: $as_of, $start (first day returned).

with

inspections as (
    select
        inspection_id,
        inspected_on as day,
        region_code,
        product_category,
        result
    from staging.inspections
    where inspected_on <= $as_of
),

failed as (
    select * from inspections where result = 'fail'
),

final as (
    select
        region_code,
        product_category,
        day,
        cast(count(*) as double) as value
    from failed
    where day >= $start
    group by region_code, product_category, day
)

select * from final
