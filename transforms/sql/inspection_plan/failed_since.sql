select distinct entity_uscc
from staging.inspections
where result = 'fail' and entity_uscc is not null and inspected_on > $since
  and inspected_on <= $as_of
