-- Who each resolved entity is, as of $as_of: best name, codes, shops, main in-province county
-- of its conduct, product categories, and the registered region for cross-province hand-off;
-- and, for an entity that shop links joined (transforms/shop_linkage.py), their evidence: how
-- many shops they joined, the trade-name stem, the shared ship-from county and in how many
-- counties the linked shops are, the weakest link's match probability, the titles' similarity and
-- how many shops joined because they opened with a keyless ring (`opened_with_ring`).
with

entity_keys as (
    select * from core.entity_keys
),
record_entities as (
    select * from core.record_entities
),
register as (
    select * from staging.entities
),
complaints as (
    select c.complaint_id as record_id, c.subject_name as name, c.region_code,
           c.product_category, e.entity_id
    from staging.complaints c
    join record_entities e on e.feed = 'complaints' and e.record_id = c.complaint_id
    where cast(c.received_at as date) between cast($as_of as date) - 179 and cast($as_of as date)
),
inspections as (
    select i.inspection_id as record_id, i.entity_name as name, i.region_code,
           i.product_category, e.entity_id
    from staging.inspections i
    join record_entities e on e.feed = 'inspections' and e.record_id = i.inspection_id
    where i.inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
),
credit as (
    select c.record_id, c.entity_name as name, e.entity_id
    from staging.credit c
    join record_entities e on e.feed = 'credit' and e.record_id = c.record_id
    where c.decided_on <= cast($as_of as date)
),
listings as (
    select listing_id as record_id, entity_id, product_category, ship_from_region_code,
           shop_key
    from features.listing_signals
),
shop_names as (
    select s.platform || ':' || s.shop_id as shop_key, s.shop_name as name
    from staging.listings s
    where s.snapshot_date between cast($as_of as date) - 55 and cast($as_of as date)
),

codes as (
    select entity_id, substr(key, 6) as uscc from entity_keys where key like 'uscc:%'
),
primary_code as (
    select entity_id, min(uscc) as uscc, string_agg(uscc, ';' order by uscc) as usccs
    from codes group by all
),
shops as (
    select entity_id, string_agg(substr(key, 6), ';' order by key) as shop_keys
    from entity_keys where key like 'shop:%' group by all
),
name_votes as (
    select entity_id, name, 1 as source_rank from complaints where name is not null
    union all select entity_id, name, 1 from inspections
    union all select entity_id, name, 1 from credit
    union all
    select l.entity_id, n.name, 2
    from (select distinct entity_id, shop_key from listings) l
    join shop_names n using (shop_key)
),
best_vote as (
    select entity_id, name
    from (select entity_id, name, min(source_rank) as source_rank, count(*) as votes
          from name_votes group by all)
    qualify row_number() over (
        partition by entity_id order by source_rank, votes desc, name
    ) = 1
),
names as (
    select entity_id, string_agg(distinct name, ';' order by name) as names
    from name_votes group by all
),
conduct_regions as (
    select entity_id, region_code from complaints
    union all select entity_id, region_code from inspections
    union all select entity_id, ship_from_region_code from listings
    where ship_from_region_code like '63%'
),
main_region as (
    select entity_id, region_code
    from (select entity_id, region_code, count(*) as n from conduct_regions
          where region_code like '63%' group by all)
    qualify row_number() over (partition by entity_id order by n desc, region_code) = 1
),
categories as (
    select entity_id, string_agg(distinct product_category, ';' order by product_category)
        as product_categories
    from (
        select entity_id, product_category from complaints
        union all select entity_id, product_category from inspections
        union all select entity_id, product_category from listings
    ) group by all
),
entities as (
    select distinct entity_id from entity_keys
),
applied_links as (  -- the links whose two shops ended in one entity
    select a.entity_id, l.*
    from core.shop_links l
    join entity_keys a on a.key = l.key_a
    join entity_keys b on b.key = l.key_b
    where a.entity_id = b.entity_id
),
soft_links as (
    select entity_id,
           len(list_distinct(list_filter(
               list(key_a) || list(key_b), lambda k: starts_with(k, 'shop:')
           ))) as soft_link_shops,
           -- a business link: a shop linked to the registered business (key_b its USCC)
           bool_or(starts_with(key_b, 'uscc:')) as soft_link_business,
           -- the shortest stem, the most frequent ship-from (ties to the smallest)
           arg_min(stem, (length(stem), stem)) as soft_link_stem,
           arg_max(ship_from, (ship_from_links, ship_from)) as soft_link_ship_from,
           round(min(match_probability), 4) as shop_link_probability,
           -- the shops joined because they opened within 4 weeks of a keyless ring's shops
           -- (each such link joins one)
           count(*) filter (where rule = 'opened_with_ring') as soft_link_opened_with_ring,
           round(median(title_similarity), 3) as soft_link_title_similarity
    from (
        select *, count(*) over (partition by entity_id, ship_from) as ship_from_links
        from applied_links
    ) group by all
),
shop_ship_froms as (  -- each shop's most frequent ship-from county (ties to the smallest)
    select shop_key, ship_from_region_code as ship_from
    from (select shop_key, ship_from_region_code, count(*) as n from listings
          where ship_from_region_code is not null group by all)
    qualify row_number() over (partition by shop_key order by n desc, ship_from_region_code) = 1
),
linked_shops as (
    select distinct entity_id, substr(key, 6) as shop_key
    from (select entity_id, unnest([key_a, key_b]) as key from applied_links)
    where starts_with(key, 'shop:')
),
soft_link_places as (  -- in how many counties the linked shops are: a ring may span several
    select entity_id, count(distinct f.ship_from) as soft_link_ship_from_places
    from linked_shops join shop_ship_froms f using (shop_key) group by all
),

final as (
    select
        e.entity_id,
        coalesce(r.name, b.name) as entity_name,
        p.uscc,
        p.usccs,
        s.shop_keys,
        m.region_code,
        c.product_categories,
        n.names,
        case
            when r.region_code is not null and r.region_code not like '63%' then r.region_code
            when r.region_code is null and p.uscc is not null
                 and substr(p.uscc, 3, 6) not like '63%' then substr(p.uscc, 3, 6)
        end as handoff_region_code,
        coalesce(k.soft_link_shops, 0) as soft_link_shops,
        coalesce(k.soft_link_business, false) as soft_link_business,
        k.soft_link_stem,
        k.soft_link_ship_from,
        coalesce(sp.soft_link_ship_from_places, 0) as soft_link_ship_from_places,
        k.shop_link_probability,
        coalesce(k.soft_link_opened_with_ring, 0) as soft_link_opened_with_ring,
        k.soft_link_title_similarity
    from entities e
    left join primary_code p using (entity_id)
    left join register r on r.uscc = p.uscc
    left join best_vote b using (entity_id)
    left join shops s using (entity_id)
    left join main_region m using (entity_id)
    left join categories c using (entity_id)
    left join names n using (entity_id)
    left join soft_links k using (entity_id)
    left join soft_link_places sp using (entity_id)
)

select * from final
