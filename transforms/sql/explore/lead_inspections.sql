-- The inspections attributed to one entity ($lead_id), carried out on or before $as_of.
with

inspections as (
    select * from staging.inspections where inspected_on <= cast($as_of as date)
),
record_entities as (
    select record_id as inspection_id from core.record_entities
    where feed = 'inspections' and entity_id = $lead_id
),

final as (
    select i.inspection_id, i.inspected_on, i.region_code, i.product_category,
           i.inspection_type, i.result, i.violation_type, i.seized_value_cny, i.lead_id
    from inspections i
    join record_entities e using (inspection_id)
)

select * from final order by inspected_on, inspection_id
