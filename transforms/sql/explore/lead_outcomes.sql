-- Each lead of each past run in _history (as_of, lead_id, rank) with the outcomes closed in
-- the $horizon days after that run that concern it: outcomes that carry its lead id, or that
-- are attributed to its entity. A lead with no such outcome has one row with a null outcome.
with

history as (
    select as_of, lead_id, rank from _history
),
outcomes as (
    select outcome_id, closed_on, outcome, lead_id from staging.outcomes
),
outcome_entities as (
    select record_id as outcome_id, entity_id from core.record_entities where feed = 'outcomes'
),

outcome_targets as (
    select outcome_id, closed_on, outcome, lead_id as target
    from outcomes where lead_id is not null
    union
    select o.outcome_id, o.closed_on, o.outcome, e.entity_id
    from outcomes o join outcome_entities e using (outcome_id)
),

final as (
    select h.as_of, h.lead_id, h.rank, o.outcome_id, o.closed_on, o.outcome
    from history h
    left join outcome_targets o
      on o.target = h.lead_id
     and o.closed_on > h.as_of
     and o.closed_on <= h.as_of + cast($horizon as integer)
)

select * from final order by as_of, rank, closed_on, outcome_id
