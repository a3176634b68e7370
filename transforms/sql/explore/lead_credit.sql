-- The credit records (penalties and credit lists) attributed to one entity ($lead_id), decided
-- on or before $as_of. No description: free text stays in the warehouse.
with

credit as (
    select * from staging.credit where decided_on <= cast($as_of as date)
),
record_entities as (
    select record_id from core.record_entities
    where feed = 'credit' and entity_id = $lead_id
),

final as (
    select c.record_id, c.decided_on, c.record_type, c.region_code, c.product_category,
           c.amount_cny
    from credit c
    join record_entities e using (record_id)
)

select * from final order by decided_on desc, record_id
