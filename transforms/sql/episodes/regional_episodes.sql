with

complaints as (
    select complaint_id, entity_id, region_code, product_category, received_on, weight
    from features.complaint_signals
    where list_contains($counterfeit_types, infringement_type)
),
failures as (
    select i.inspection_id, e.entity_id, i.region_code, i.product_category,
           i.inspected_on, coalesce(i.seized_value_cny, 0) as seized_value,
           coalesce(list_contains($severe_types, i.violation_type), false) as severe
    from staging.inspections i
    left join core.record_entities e
      on e.feed = 'inspections' and e.record_id = i.inspection_id
    where i.result = 'fail'
      and i.inspected_on between cast($as_of as date) - 364 and cast($as_of as date)
),

events as (
    select 'complaint:' || complaint_id as event_id, entity_id, region_code,
           product_category, received_on as day, weight as voices, 0 as severe_failures,
           0 as other_failures, 0.0 as seized_value, $complaint_window as window
    from complaints where entity_id is not null
    union all
    select 'inspection:' || inspection_id, entity_id, region_code, product_category,
           inspected_on, 0, case when severe then 1 else 0 end,
           case when severe then 0 else 1 end, seized_value, $failure_window
    from failures where entity_id is not null
),
peer_voices as (
    select
        e.event_id,
        coalesce(sum(o.weight) filter (where abs(o.received_on - e.day) <= e.window), 0)
            as nearby,
        coalesce(sum(o.weight), 0) as total
    from events e
    left join complaints o
      on o.region_code = e.region_code and o.product_category = e.product_category
     and o.entity_id is distinct from e.entity_id
    group by e.event_id
),
peer_failures as (
    select
        e.event_id,
        count(distinct coalesce(o.entity_id, o.inspection_id)) filter (
            where abs(o.inspected_on - e.day) <= e.window
        ) as nearby,
        count(distinct coalesce(o.entity_id, o.inspection_id)) as total
    from events e
    left join failures o
      on o.region_code = e.region_code and o.product_category = e.product_category
     and o.entity_id is distinct from e.entity_id
    group by e.event_id
),
shared as (
    select e.*, v.nearby as peer_voices
    from events e
    join peer_voices v using (event_id)
    join peer_failures f using (event_id)
    where v.nearby >= $min_peer_voices + $excess_factor
            * (v.total - v.nearby) * (2 * e.window + 1) / (180 - 2 * e.window - 1)
       or f.nearby >= $min_peer_failures + $excess_factor
            * (f.total - f.nearby) * (2 * e.window + 1) / (365 - 2 * e.window - 1)
),

final as (
    select
        entity_id,
        sum(voices) as episode_voices,
        sum(severe_failures) as episode_severe_failures,
        sum(other_failures) as episode_other_failures,
        sum(seized_value) as episode_seized_value,
        max(peer_voices) as episode_peer_voices
    from shared
    group by entity_id
)

select * from final order by entity_id
