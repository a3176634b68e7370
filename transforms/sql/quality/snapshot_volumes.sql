-- Each platform's listing snapshot sizes next to the median of its previous 4 snapshots,
-- for the snapshots that files loaded in run $run_id contributed to.
with

history as (
    select * from staging.listings_history
),
this_run as (
    select file from ops.manifest where run_id = $run_id and feed = 'listings' and status = 'loaded'
),

snapshots as (
    select platform, snapshot_date, count(distinct listing_id) as listings
    from history group by all
),
with_recent as (
    select *,
           median(listings) over (
               partition by platform order by snapshot_date
               rows between 4 preceding and 1 preceding
           ) as recent_median,
           count(*) over (
               partition by platform order by snapshot_date
               rows between 4 preceding and 1 preceding
           ) as recent_snapshots
    from snapshots
),
touched as (
    select distinct h._file as file, h.platform, h.snapshot_date
    from history h join this_run r on r.file = h._file
),

final as (
    select t.file, w.platform, w.snapshot_date, w.listings, w.recent_median
    from touched t
    join with_recent w using (platform, snapshot_date)
    where w.recent_snapshots >= 2 and w.listings < $ratio * w.recent_median
)

select * from final order by file, platform, snapshot_date
