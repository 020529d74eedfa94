-- The Monthly markets' daily truth (issue 27 §2): each day's precipitation and snowfall from the newest
-- final CLI report of that day, into ops.monthly_observed (the month-to-date sums read it). A trace is 0;
-- a missing amount (MM, unreadable) writes nothing -- the month-to-date is then short of a day, and
-- ops.monthly_days_missing says which.
create or replace function ops.on_climate_report_amounts() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    insert into ops.monthly_observed (city_code, kind, climate_date, amount_in)
    select r.city_code, k.kind::ops.market_kind, r.climate_date, k.amount
      from (select * from ops.climate_reports x
             where x.city_code = new.city_code and x.climate_date = new.climate_date and x.is_final
             order by x.issued_at desc, x.fetched_at desc limit 1) r
     cross join lateral (values ('monthly_rain', r.precip_in), ('monthly_snow', r.snow_in)) k(kind, amount)
     where k.amount is not null
    on conflict (city_code, kind, climate_date) do update set amount_in = excluded.amount_in;
    return null;
end
$$;
comment on function ops.on_climate_report_amounts() is 'Trigger: a final CLI report writes its day''s precipitation and snowfall into ops.monthly_observed (the newest final of the day wins).';

drop trigger if exists climate_reports_amounts on ops.climate_reports;
create trigger climate_reports_amounts after insert on ops.climate_reports
    for each row when (new.is_final) execute function ops.on_climate_report_amounts();

-- Days of a month so far with no final amount (missing, unreadable, or no report yet): a month-to-date
-- total over them is a lower bound, not the truth.
create or replace function ops.monthly_days_missing(p_city text, p_kind text, p_month date, p_through date)
returns setof date
language sql stable
set search_path = pg_catalog, ops
begin atomic
    select d::date from generate_series(date_trunc('month', p_month), p_through, interval '1 day') d
     where not exists (select 1 from ops.monthly_observed o
                        where o.city_code = p_city and o.kind::text = p_kind and o.climate_date = d::date)
     order by 1;
end;
comment on function ops.monthly_days_missing(text, text, date, date) is 'Days from the first of p_month through p_through with no final precipitation/snowfall amount for the city.';
