select distinct region_code, inspector_team
from staging.inspections
where inspected_on < $before and inspector_team is not null
order by region_code, inspector_team
