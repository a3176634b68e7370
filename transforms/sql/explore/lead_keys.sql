-- The keys that link one entity's records ($lead_id): registration codes, shops, shared
-- contacts (hashed) and normalised names, with their kind, and how many records of which
-- feeds carry each key.
with

entity_keys as (
    select key from core.entity_keys where entity_id = $lead_id
),
record_keys as (
    select feed, record_id, key from core.record_keys
),

records as (
    select k.key,
           count(distinct r.feed || ':' || r.record_id) as records,
           string_agg(distinct r.feed, ', ' order by r.feed) as feeds
    from entity_keys k
    left join record_keys r on r.key = k.key
    group by k.key
),

final as (
    select split_part(key, ':', 1) as kind, key, records, feeds from records
)

select * from final order by kind, key
