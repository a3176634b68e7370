-- The matched names behind each entity of $lead_ids: each pair of its name keys that the name
-- matcher (transforms/splink_match.py, core.name_matches) scored at or above its threshold,
-- with the match probability. The other keys (USCC, shop, contact) link exactly.
with

entity_keys as (
    select entity_id as lead_id, key from core.entity_keys
    where list_contains($lead_ids, entity_id)
),
name_matches as (
    select key_a, key_b, match_probability from core.name_matches
),

final as (
    select a.lead_id, m.key_a, m.key_b, m.match_probability
    from name_matches m
    join entity_keys a on a.key = m.key_a
    join entity_keys b on b.key = m.key_b and b.lead_id = a.lead_id
)

select * from final order by lead_id, match_probability desc, key_a, key_b
