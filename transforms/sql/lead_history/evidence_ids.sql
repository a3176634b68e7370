with

leads as (
    select lead_id from _leads
),
complaints as (
    select entity_id, complaint_id as id,
           row_number() over (
               partition by entity_id
               order by list_contains($counterfeit_types, infringement_type) desc,
                        weight desc, received_on desc, complaint_id
           ) as n
    from features.complaint_signals
    where entity_id is not null
),
inspections as (
    select e.entity_id, i.inspection_id as id,
           row_number() over (
               partition by e.entity_id order by i.inspected_on desc, i.inspection_id
           ) as n
    from staging.inspections i
    join core.record_entities e
      on e.feed = 'inspections' and e.record_id = i.inspection_id
    where i.result = 'fail'
      and i.inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
),
listings as (
    select entity_id, platform || ':' || listing_id as id,
           row_number() over (
               partition by entity_id
               order by has_slang desc, price_ratio, platform, listing_id
           ) as n
    from features.listing_signals
    where has_slang or (price_ratio < 0.6 and not has_honest_wording)
),

top_complaints as (
    select entity_id, string_agg(id, ';' order by id) as complaint_ids
    from complaints where n <= $top group by entity_id
),
top_inspections as (
    select entity_id, string_agg(id, ';' order by id) as inspection_ids
    from inspections where n <= $top group by entity_id
),
top_listings as (
    select entity_id, string_agg(id, ';' order by id) as listing_ids
    from listings where n <= $top group by entity_id
),

final as (
    select l.lead_id, c.complaint_ids, i.inspection_ids, s.listing_ids
    from leads l
    left join top_complaints c on c.entity_id = l.lead_id
    left join top_inspections i on i.entity_id = l.lead_id
    left join top_listings s on s.entity_id = l.lead_id
)

select * from final
