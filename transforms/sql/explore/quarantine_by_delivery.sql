-- Quarantined rows per delivered file and reason, dated by the file's delivery (its
-- modification date, China time). A row counts under each of its reasons; open_rows are the
-- rows that no steward's decision or corrected re-delivery has closed.
with

quarantined as (
    select feed, file, sha256, reasons, resolution from quarantine.rows
),
manifest as (
    select feed, file, sha256, mtime from ops.manifest where status = 'loaded'
),

reasons as (
    select feed, file, sha256, unnest(string_split(reasons, ';')) as reason,
           resolution is null as is_open
    from quarantined
),
dated as (
    select r.*, cast(timezone('Asia/Shanghai', to_timestamp(m.mtime)) as date) as delivered_on
    from reasons r
    join manifest m using (feed, file, sha256)
),

final as (
    select delivered_on, feed, file, reason, count(*) as rows,
           count(*) filter (where is_open) as open_rows
    from dated
    group by all
)

select * from final order by delivered_on, feed, file, reason
