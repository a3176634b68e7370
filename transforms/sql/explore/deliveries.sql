-- Every file the pipeline has seen, dated by its delivery (modification date, China time),
-- with its status and row counts as recorded in the manifest.
with

manifest as (
    select * from ops.manifest
),

final as (
    select cast(timezone('Asia/Shanghai', to_timestamp(mtime)) as date) as delivered_on, feed,
           file, status, coalesce(rows_read, 0) as rows_read,
           coalesce(rows_accepted, 0) as rows_accepted,
           coalesce(rows_quarantined, 0) as rows_quarantined
    from manifest
)

select * from final order by delivered_on, feed, file
