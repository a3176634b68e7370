-- The credit records (penalties and credit lists) attributed to each entity of $lead_ids, decided
-- on or before $as_of. No description: free text stays in the warehouse.
with

credit as (
    select * from staging.credit where decided_on <= cast($as_of as date)
),
record_entities as (
    select record_id, entity_id as lead_id from core.record_entities
    where feed = 'credit' and list_contains($lead_ids, entity_id)
),

final as (
    select e.lead_id, c.record_id, c.decided_on, c.record_type, c.region_code, c.product_category,
           c.amount_cny
    from credit c
    join record_entities e using (record_id)
)

select * from final order by lead_id, decided_on desc, record_id
