-- Every record's linking keys as of $as_of: one row per (feed, record_id, key).
-- Keys: uscc:<code>, shop:<platform>:<shop_id>, contact:<hash>,
--       name:<scope>:<key name> (resolve.key_name: the normalised name without bracketed
--       notes or platform wording), where the scope is the prefecture-level code for a
--       business and the platform for an online shop: a listing's shop name, or a complaint
--       that names a shop on a platform without its shop id.
-- rank orders a record's keys by how well they identify a business (1 = best); the
-- best key is the record's anchor, through which the record is attributed to an entity.
-- seen_on is the record's date (a shop's first snapshot with that key), empty for the
-- register, which is undated: resolve.link_keys names an entity after the key it was seen
-- with first, so the lead_id stays while the entity gains keys.
with

complaints as (
    select *, cast(received_at as date) as received_on
    from staging.complaints where cast(received_at as date) <= $as_of
),
-- materialized: the versions in force of every listing are computed once, not per use
listings as materialized (
    select platform, shop_id, seller_uscc, contact_hash, shop_name, snapshot_date
    from staging.listings where snapshot_date <= $as_of
),
listing_shops as (
    select platform, shop_id, seller_uscc, contact_hash, min(snapshot_date) as seen_on
    from listings group by all
),
listing_shop_names as (
    select platform, shop_id, shop_name, min(snapshot_date) as seen_on
    from listings where shop_name is not null group by all
),
inspections as (
    select * from staging.inspections where inspected_on <= $as_of
),
credit as (
    select * from staging.credit where decided_on <= $as_of
),
outcomes as (
    select * from staging.outcomes where closed_on <= $as_of
),
register as (
    select * from staging.entities
),
names as (
    select name, norm from core.normalized_names
),

keyed as (
    select 'listings' as feed, platform || ':' || shop_id as record_id,
           'shop:' || platform || ':' || shop_id as key, 1 as rank, seen_on
    from listing_shops
    union all
    select 'listings', platform || ':' || shop_id, 'uscc:' || seller_uscc, 2, seen_on
    from listing_shops where seller_uscc is not null
    union all
    select 'listings', platform || ':' || shop_id, 'contact:' || contact_hash, 3, seen_on
    from listing_shops where contact_hash is not null
    union all
    select 'listings', s.platform || ':' || s.shop_id, 'name:' || s.platform || ':' || n.norm, 4,
           s.seen_on
    from listing_shop_names s join names n on n.name = s.shop_name

    union all
    select 'complaints', complaint_id, 'shop:' || platform || ':' || shop_id, 1, received_on
    from complaints where platform is not null and shop_id is not null
    union all
    select 'complaints', complaint_id, 'uscc:' || subject_uscc, 2, received_on
    from complaints where subject_uscc is not null
    union all
    select 'complaints', c.complaint_id,
           'name:' || coalesce(c.platform, substr(c.region_code, 1, 4) || '00') || ':' || n.norm, 4,
           c.received_on
    from complaints c join names n on n.name = c.subject_name
    where c.platform is null or c.shop_id is null

    union all
    select 'inspections', inspection_id, 'uscc:' || entity_uscc, 2, inspected_on
    from inspections where entity_uscc is not null
    union all
    select 'inspections', i.inspection_id,
           'name:' || substr(i.region_code, 1, 4) || '00:' || n.norm, 4, i.inspected_on
    from inspections i join names n on n.name = i.entity_name

    union all
    select 'credit', record_id, 'uscc:' || uscc, 2, decided_on
    from credit where uscc is not null
    union all
    select 'credit', c.record_id,
           'name:' || substr(coalesce(c.region_code, substr(c.uscc, 3, 6)), 1, 4) || '00:' || n.norm, 4,
           c.decided_on
    from credit c join names n on n.name = c.entity_name
    where coalesce(c.region_code, c.uscc) is not null

    union all
    select 'outcomes', outcome_id, 'shop:' || platform || ':' || shop_id, 1, closed_on
    from outcomes where platform is not null and shop_id is not null
    union all
    select 'outcomes', outcome_id, 'uscc:' || entity_uscc, 2, closed_on
    from outcomes where entity_uscc is not null

    union all
    select 'entities', uscc, 'uscc:' || uscc, 2, cast(null as date) from register
    union all
    select 'entities', r.uscc, 'name:' || substr(r.region_code, 1, 4) || '00:' || n.norm, 4, cast(null as date)
    from register r join names n on n.name = r.name
),

final as (
    select feed, record_id, key, rank,
           split_part(key, ':', 1) as key_kind,
           min(seen_on) as seen_on
    from keyed
    group by all
)

select * from final
