select q.feed, q.file, q.sha256, q._row_number, q.record, m.mtime as delivered
from quarantine.rows q
join ops.manifest m
  on m.feed = q.feed and m.file = q.file and m.sha256 = q.sha256 and m.status = 'loaded'
where q.resolution is null and q.feed = ?
