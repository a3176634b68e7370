-- The keys that link the records of each entity of $lead_ids: registration codes, shops, shared
-- contacts (hashed) and normalised names, with their kind, and how many records of which
-- feeds carry each key.
with

entity_keys as (
    select entity_id as lead_id, key from core.entity_keys
    where list_contains($lead_ids, entity_id)
),
record_keys as (
    select feed, record_id, key from core.record_keys
),

records as (
    select k.lead_id, k.key,
           count(distinct r.feed || ':' || r.record_id) as records,
           string_agg(distinct r.feed, ', ' order by r.feed) as feeds
    from entity_keys k
    left join record_keys r on r.key = k.key
    group by k.lead_id, k.key
),

final as (
    select lead_id, split_part(key, ':', 1) as kind, key, records, feeds from records
)

select * from final order by lead_id, kind, key
