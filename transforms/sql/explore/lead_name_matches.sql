-- The matched names behind one entity ($lead_id): each pair of its name keys that the name
-- matcher (transforms/splink_match.py, core.name_matches) scored at or above its threshold,
-- with the match probability. The other keys (USCC, shop, contact) link exactly.
with

entity_keys as (
    select key from core.entity_keys where entity_id = $lead_id
),
name_matches as (
    select key_a, key_b, match_probability from core.name_matches
),

final as (
    select m.key_a, m.key_b, m.match_probability
    from name_matches m
    join entity_keys a on a.key = m.key_a
    join entity_keys b on b.key = m.key_b
)

select * from final order by match_probability desc, key_a, key_b
