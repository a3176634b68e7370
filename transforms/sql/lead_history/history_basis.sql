select h.*
from scores.lead_history h
join scores.lead_history_basis b using (as_of)
where h.as_of < cast($as_of as date)
  and b.first_run < coalesce(
      (select first_run from scores.lead_history_basis
       where as_of = cast($as_of as date)),
      (select max(first_run) + 1 from scores.lead_history_basis)
  )
