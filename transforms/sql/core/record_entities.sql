-- Each record attributed to the entity of its anchor (best) key.
with

record_keys as (
    select * from core.record_keys
),
entity_keys as (
    select * from core.entity_keys
),

anchors as (
    select feed, record_id, key
    from record_keys
    qualify row_number() over (partition by feed, record_id order by rank, key) = 1
),

final as (
    select a.feed, a.record_id, a.key as anchor_key, e.entity_id
    from anchors a
    join entity_keys e using (key)
)

select * from final
