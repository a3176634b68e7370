with

leads as (
    select lead_id from _leads
),
record_entities as (
    select feed, record_id, entity_id from core.record_entities
),
outcomes as (
    select o.outcome_id, o.closed_on as day, o.lead_id, e.entity_id
    from staging.outcomes o
    left join record_entities e on e.feed = 'outcomes' and e.record_id = o.outcome_id
    where o.closed_on <= cast($as_of as date)
),
inspections as (
    select i.inspection_id, i.inspected_on as day, i.lead_id, i.inspection_type,
           e.entity_id
    from staging.inspections i
    left join record_entities e
      on e.feed = 'inspections' and e.record_id = i.inspection_id
    where i.inspected_on <= cast($as_of as date)
),

actions as (
    select l.lead_id, o.day, 'closed' as status, 1 as precedence
    from leads l join outcomes o on o.lead_id = l.lead_id
    union all
    select l.lead_id, o.day, 'closed', 1
    from leads l join outcomes o on o.entity_id = l.lead_id
    where o.day > cast($as_of as date) - $lookback
    union all
    select l.lead_id, i.day, 'under_investigation', 0
    from leads l join inspections i on i.lead_id = l.lead_id
    union all
    select l.lead_id, i.day, 'under_investigation', 0
    from leads l join inspections i on i.entity_id = l.lead_id
    where i.day > cast($as_of as date) - $lookback
      and i.inspection_type in ('targeted', 'complaint_followup')
),

final as (
    select lead_id, day as status_on, status
    from actions
    qualify row_number() over (
        partition by lead_id order by day desc, precedence desc
    ) = 1
)

select * from final
