with

history as (
    select * from staging.dispositions_history
    where imported_on <= cast($as_of as date)
),

final as (
    select lead_id, status, checked_on, imported_on
    from history
    qualify row_number() over (
        partition by lead_id order by imported_at desc, file desc, row_number desc
    ) = 1
)

select * from final
