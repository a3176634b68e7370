select entity_uscc, inspector_team
from staging.inspections
where inspected_on < $before and entity_uscc is not null
qualify row_number() over (
  partition by entity_uscc order by inspected_on desc, inspection_id desc
) = 1
