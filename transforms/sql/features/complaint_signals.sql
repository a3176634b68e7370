-- One row per complaint received in the 180 days up to $as_of, attributed to its entity,
-- with a credibility weight: complaints from one phone, or copies of one text, against
-- one entity count together as one voice; a phone that complains very often anywhere
-- (a professional complainant, 职业打假) is discounted further. The phone itself never
-- leaves this query.
--
-- This is the entity's rule ("credibility weight": repeats against the same entity share one
-- voice, whenever they came). The surge detector's rule is another, for an area and a day
-- (surveillance/complaint_voices_daily.sql, "new voice": a complaint counts unless the same
-- phone or text complained in the previous days anywhere), because a day's count must not
-- change when later complaints arrive.
with

complaints as (
    select * from staging.complaints
    where cast(received_at as date) between cast($as_of as date) - 179 and cast($as_of as date)
),
phones as (
    -- digits only, last 11 (drops a +86 prefix and separators), as the surge detector does
    select complaint_id,
           nullif(right(regexp_replace(complainant_phone, '[^0-9]', '', 'g'), 11), '')
               as complainant_phone
    from restricted.complainant_phones
),
record_entities as (
    select record_id as complaint_id, entity_id
    from core.record_entities where feed = 'complaints'
),

attributed as (
    select c.complaint_id, cast(c.received_at as date) as received_on, c.channel,
           c.region_code, c.product_category, c.infringement_type, c.complainant_type,
           c.amount_cny, c.description, p.complainant_phone, e.entity_id
    from complaints c
    left join phones p using (complaint_id)
    left join record_entities e using (complaint_id)
),
repeats as (
    select *,
           count(*) over (partition by entity_id, complainant_phone) as same_phone,
           count(*) over (partition by entity_id, description) as same_text,
           count(*) over (
               partition by complainant_phone order by received_on
               range between interval 89 day preceding and current row
           ) as phone_recent
    from attributed
),
frequent as (
    -- a phone that filed 8 or more complaints within some 90 days of the window: every
    -- complaint of it is discounted, not only those from the 8th on
    select *, max(phone_recent) over (partition by complainant_phone) as phone_busiest
    from repeats
),

final as (
    select complaint_id, received_on, channel, region_code, product_category,
           infringement_type, complainant_type, amount_cny, entity_id,
           1.0 / greatest(
               case when complainant_phone is null then 1 else same_phone end,
               case when same_text >= 3 then same_text else 1 end
           )
           * case when complainant_phone is not null and phone_busiest >= 8 then 0.3 else 1.0 end
             as weight,
           complainant_phone is not null and phone_busiest >= 8 as from_frequent_complainant
    from frequent
)

select * from final
