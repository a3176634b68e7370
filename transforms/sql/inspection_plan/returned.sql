select inspection_id, inspected_on, entity_uscc, entity_name as inspected_name, result,
       violation_type
from staging.inspections
where inspection_type = 'double_random' and inspected_on between $first and $last
order by inspected_on, inspection_id
