with

history as (
    select as_of, lead_id, rank from _history
),
dispositions as (
    select lead_id, status, checked_on
    from staging.dispositions_history
    where checked_on is not null
    qualify row_number() over (
        partition by lead_id order by imported_at desc, file desc, row_number desc
    ) = 1
),

final as (
    select h.as_of, h.lead_id, h.rank, 'disposition:' || h.lead_id as outcome_id,
           d.checked_on as closed_on, d.status as outcome
    from history h
    join dispositions d
      on d.lead_id = h.lead_id
     and d.checked_on > h.as_of
     and d.checked_on <= h.as_of + cast($horizon as integer)
)

select * from final
