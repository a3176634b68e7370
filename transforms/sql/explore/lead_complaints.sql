-- The complaints attributed to each entity of $lead_ids, received on or before $as_of, with the
-- credibility weight the score gave them (null when older than the score's 180 days).
-- No description and no phone: free text and personal data stay in the warehouse.
with

complaints as (
    select * from staging.complaints where cast(received_at as date) <= cast($as_of as date)
),
record_entities as (
    select record_id as complaint_id, entity_id as lead_id from core.record_entities
    where feed = 'complaints' and list_contains($lead_ids, entity_id)
),
signals as (
    select complaint_id, weight, from_frequent_complainant from features.complaint_signals
),

final as (
    select e.lead_id, c.complaint_id, cast(c.received_at as date) as received_on, c.channel,
           c.region_code, c.product_category, c.infringement_type, c.complainant_type, c.brand,
           c.amount_cny, s.weight, s.from_frequent_complainant
    from complaints c
    join record_entities e using (complaint_id)
    left join signals s using (complaint_id)
)

select * from final order by lead_id, received_on, complaint_id
