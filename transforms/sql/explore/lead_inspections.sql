-- The inspections attributed to each entity of $lead_ids, carried out on or before $as_of.
with

inspections as (
    select * from staging.inspections where inspected_on <= cast($as_of as date)
),
record_entities as (
    select record_id as inspection_id, entity_id as lead_id from core.record_entities
    where feed = 'inspections' and list_contains($lead_ids, entity_id)
),

final as (
    select e.lead_id, i.inspection_id, i.inspected_on, i.region_code, i.product_category,
           i.inspection_type, i.result, i.violation_type, i.seized_value_cny, i.lead_id as inspection_lead_id
    from inspections i
    join record_entities e using (inspection_id)
)

select * from final order by lead_id, inspected_on, inspection_id
