select e.uscc, e.name as entity_name, e.entity_type, e.region_code, l.lead_id, l.score
from staging.entities e
left join core.entity_keys k on k.key = 'uscc:' || e.uscc
left join scores.entity_leads l on l.lead_id = k.entity_id
where e.status = 'active' and e.uscc is not null
order by e.uscc
