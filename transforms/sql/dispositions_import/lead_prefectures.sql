with

listed as (
    select lead_id, region_code, 1 as source from scores.lead_regions
    union all
    select distinct lead_id, null, 2 from scores.lead_history
),

final as (
    select lead_id, region_code
    from listed
    qualify row_number() over (partition by lead_id order by source) = 1
)

select * from final
