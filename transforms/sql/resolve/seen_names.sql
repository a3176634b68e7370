select distinct name from (
    select subject_name as name from staging.complaints_history
    union all select entity_name from staging.inspections_history
    union all select entity_name from staging.credit_history
    union all select entity_name from staging.outcomes_history
    union all select name from staging.entities_history
    union all select shop_name from staging.listings_history
) where name is not null
