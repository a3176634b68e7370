-- The keys that link one entity's records ($lead_id): registration codes, shops, shared
-- contacts (hashed) and normalised names, with their kind.
with

entity_keys as (
    select key from core.entity_keys where entity_id = $lead_id
),

final as (
    select split_part(key, ':', 1) as kind, key from entity_keys
)

select * from final order by kind, key
