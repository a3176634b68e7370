with

leads as (
    select lead_id from _leads
),
complaints as (
    select entity_id, max(received_on) as day
    from features.complaint_signals where entity_id is not null group by entity_id
),
failures as (
    select e.entity_id, max(i.inspected_on) as day
    from staging.inspections i
    join core.record_entities e
      on e.feed = 'inspections' and e.record_id = i.inspection_id
    where i.result = 'fail' and i.inspected_on <= cast($as_of as date)
    group by e.entity_id
),
first_seen as (
    select platform, listing_id, min(snapshot_date) as day
    from staging.listings where snapshot_date <= cast($as_of as date)
    group by all
),
listings as (
    select s.entity_id, max(f.day) as day
    from features.listing_signals s
    join first_seen f using (platform, listing_id)
    where s.has_slang or (s.price_ratio < 0.6 and not s.has_honest_wording)
    group by s.entity_id
),

final as (
    select l.lead_id, greatest(c.day, f.day, s.day) as last_evidence_on
    from leads l
    left join complaints c on c.entity_id = l.lead_id
    left join failures f on f.entity_id = l.lead_id
    left join listings s on s.entity_id = l.lead_id
)

select * from final
