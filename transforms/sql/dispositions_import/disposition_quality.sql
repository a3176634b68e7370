with

seen as (
    select * from _seen_dispositions
),

final as (
    select 'dispositions' as feed, i.file, i.status, i.rows_read, i.rows_accepted,
           i.rows_quarantined, i.issues
    from seen s
    join ops.disposition_imports i
      on i.source = 'landing' and i.file = s.file and i.size_bytes = s.size_bytes
     and i.mtime = s.mtime
    qualify row_number() over (partition by i.file order by i.imported_at desc) = 1
)

select * from final order by file
