-- New voices per county, product category and day.
--
-- Not the entity's credibility weight (features/complaint_signals.sql, where repeats
-- against one entity share one voice over the whole window): here each complaint is 1 or 0
-- by what came before it only.
--
-- A complaint is a new voice unless the same phone, or the same description text,
-- already complained within the previous $dedup_days days: a burst of complaints from
-- one phone, or a copy-pasted campaign, counts once. The chain only looks backwards,
-- so a day's value never depends on later complaints. The phone is used only inside
-- this query and is never selected out of it.
-- Parameters: $as_of, $start (first day returned), $dedup_days, $min_description_chars.

with

complaints as (
    select
        complaint_id,
        received_at,
        cast(received_at as date) as day,
        region_code,
        product_category,
        description
    from staging.complaints
    where cast(received_at as date) <= $as_of
),

complainant_phones as (
    select
        complaint_id,
        -- digits only, last 11 (drops a +86 prefix and separators)
        right(regexp_replace(max(complainant_phone), '[^0-9]', '', 'g'), 11) as phone
    from restricted.complainant_phones
    group by complaint_id
),

keyed as (
    select
        complaints.complaint_id,
        complaints.received_at,
        complaints.day,
        complaints.region_code,
        complaints.product_category,
        nullif(complainant_phones.phone, '') as phone,
        -- short texts ("买到假货") are too generic to mark a copy-paste campaign
        case
            when length(regexp_replace(lower(complaints.description), '\s+', '', 'g'))
                >= $min_description_chars
                then regexp_replace(lower(complaints.description), '\s+', '', 'g')
        end as description_key
    from complaints
    left join complainant_phones using (complaint_id)
),

gaps as (
    select
        region_code,
        product_category,
        day,
        phone is not null as has_phone,
        description_key is not null as has_description_key,
        day - lag(day) over (
            partition by phone order by received_at, complaint_id
        ) as days_since_same_phone,
        day - lag(day) over (
            partition by description_key order by received_at, complaint_id
        ) as days_since_same_text
    from keyed
),

voices as (
    select
        region_code,
        product_category,
        day,
        case
            when has_phone and days_since_same_phone <= $dedup_days then 0.0
            when has_description_key and days_since_same_text <= $dedup_days then 0.0
            else 1.0
        end as voice
    from gaps
),

final as (
    select
        region_code,
        product_category,
        day,
        sum(voice) as value
    from voices
    where day >= $start
    group by region_code, product_category, day
    having sum(voice) > 0
)

select * from final
