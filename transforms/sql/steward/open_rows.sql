select feed, file, sha256, _row_number, reasons, record
from quarantine.rows
where resolution is null
order by feed, file, quarantined_at, sha256, _row_number
