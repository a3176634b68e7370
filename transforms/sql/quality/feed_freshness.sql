-- How long each feed has gone without a delivery, against its usual gap between deliveries,
-- counting deliveries (file modification dates, China time) up to $as_of.
with

deliveries as (
    select distinct feed,
           cast(timezone('Asia/Shanghai', to_timestamp(mtime)) as date) as delivered_on
    from ops.manifest
    where status in ('loaded', 'duplicate')
),
dated as (
    select * from deliveries where delivered_on <= cast($as_of as date)
),
gaps as (
    select feed, delivered_on,
           delivered_on - lag(delivered_on) over (partition by feed order by delivered_on) as gap
    from dated
),

final as (
    select feed,
           max(delivered_on) as last_delivery,
           coalesce(median(gap), 0) as usual_gap_days,
           cast($as_of as date) - max(delivered_on) as days_since_delivery,
           count(*) as deliveries
    from gaps group by all
)

select *,
       days_since_delivery > greatest($min_days, $factor * usual_gap_days) as stale
from final order by feed
