-- The Monthly model (issue 27 §3): P(month total above X) for the rain and snow "above X inches" ladders.
--
-- The month's total is what is observed (final CLI days, as known at the decision time) plus S, the sum
-- over every day not yet observed (the rest of the month, and any past day whose CLI is missing) of a
-- compound Bernoulli-gamma amount: a day is wet with probability p and then brings a gamma amount of
-- mean m and shape k (the prior, ops.monthly_prior). Where the NWS gridpoint forecasts a day, p is its
-- probability of precipitation and p*m its QPF (or snowfall); elsewhere p is the climatological wet-day
-- chance and p*m the day's normal, so the remaining days' mean matches the CLI's own normal (the month's
-- normal, where ops.monthly_climatology has one, minus the bulletin's normal to date; else the bulletin's
-- normal to date extrapolated). S is then approximated by its exact P(S = 0) and a gamma fitted to the
-- first two moments of S given S > 0 -- the compound sum's own shape (a point mass at zero, a right-skewed
-- tail) without a convolution over 31 days. A threshold already passed is certain (p = 1).

-- P(S > y) for the remaining total S: P(S = 0) = p_dry, mean and variance of S.
create or replace function ops.monthly_exceed(p_y double precision, p_dry double precision,
                                              p_mean double precision, p_var double precision)
returns double precision
language plpgsql immutable parallel safe as $$
declare
    wet double precision := 1 - p_dry;
    m_wet double precision;
    v_wet double precision;
begin
    if p_y is null or p_dry is null or p_mean is null or p_var is null
       or p_dry < 0 or p_dry > 1 or p_mean < 0 or p_var < 0 then
        raise exception 'monthly_exceed: bad inputs (y %, p_dry %, mean %, var %)', p_y, p_dry, p_mean, p_var
            using errcode = 'invalid_parameter_value';
    end if;
    if p_y < 0 then
        return 1;                                    -- already passed: certain
    end if;
    if wet <= 1e-12 or p_mean <= 0 then
        return 0;                                    -- nothing more can come
    end if;
    m_wet := p_mean / wet;                           -- E[S | S > 0]
    v_wet := (p_var + p_mean * p_mean) / wet - m_wet * m_wet;
    if v_wet <= m_wet * m_wet * 1e-9 then            -- no spread left: S | S > 0 is its mean
        return case when m_wet > p_y then wet else 0 end;
    end if;
    -- gamma with shape m^2/v and scale v/m
    return wet * ops.gamma_q(m_wet * m_wet / v_wet, p_y * m_wet / v_wet);
end
$$;
comment on function ops.monthly_exceed(double precision, double precision, double precision, double precision)
    is 'P(S > y) for a remaining total S with P(S = 0) = p_dry and the given mean and variance (gamma given S > 0); 1 when y < 0.';

-- One Monthly market's YES probability: "above X" (greater: total > X; greater_or_equal: total >= X)
-- or its complement (less, less_or_equal), the bulletin's resolution step apart (a total is a whole
-- number of steps). Null for a shape the model does not price (between: a Monthly ladder is cumulative).
create or replace function ops.monthly_market_p(p_strike_type text, p_floor numeric, p_cap numeric, p_step numeric,
                                                p_mtd numeric, p_dry double precision, p_mean double precision,
                                                p_var double precision)
returns double precision
language sql immutable parallel safe
return case p_strike_type
    when 'greater'          then ops.monthly_exceed((p_floor + p_step / 2 - p_mtd)::float8, p_dry, p_mean, p_var)
    when 'greater_or_equal' then ops.monthly_exceed((p_floor - p_step / 2 - p_mtd)::float8, p_dry, p_mean, p_var)
    when 'less'             then 1 - ops.monthly_exceed((p_cap - p_step / 2 - p_mtd)::float8, p_dry, p_mean, p_var)
    when 'less_or_equal'    then 1 - ops.monthly_exceed((p_cap + p_step / 2 - p_mtd)::float8, p_dry, p_mean, p_var)
end;
comment on function ops.monthly_market_p(text, numeric, numeric, numeric, numeric, double precision, double precision, double precision)
    is 'YES probability of a Monthly threshold market from the month to date and the remaining total''s P(0), mean and variance; null for shapes not priced.';

-- The model's inputs per city, kind and month with an open Monthly market at p_as_of, from what was
-- known then (CLI reports and forecasts fetched by p_as_of; markets and cities as of p_known_at).
create or replace function ops.monthly_model(p_as_of timestamptz, p_known_at timestamptz default 'infinity')
returns table (city_code text, kind ops.market_kind, month date, mtd_in numeric, days_observed integer,
               days_unknown integer, days_forecast integer, normal_day_in numeric, normal_source text,
               wet_day_prob numeric, wet_shape numeric, step_in numeric, p_dry double precision,
               mean_in double precision, var_in double precision, weather_at timestamptz, note text)
language sql stable
set search_path = pg_catalog, ops
begin atomic
    with months as (
        select distinct m.city_code, m.kind, date_trunc('month', m.climate_date)::date as month,
               ops.climate_date(p_as_of, c.std_utc_offset) as today
          from ops.markets_at(p_known_at, p_as_of) m
          join ops.control_at(null::ops.cities, p_known_at) c on c.code = m.city_code
         where m.kind in ('monthly_rain', 'monthly_snow') and m.status in ('initialized', 'active') and m.close_time > p_as_of),
    days as (
        select mo.city_code, mo.kind, mo.month, mo.today, d::date as day,
               (mo.month + interval '1 month' - interval '1 day')::date as month_end
          from months mo
         cross join generate_series(mo.month, mo.month + interval '1 month' - interval '1 day', interval '1 day') d),
    -- each past day's amount from its newest final CLI known by p_as_of (null: missing, unknown)
    observed as (
        select dy.city_code, dy.kind, dy.month, dy.day,
               (select case dy.kind when 'monthly_rain' then r.precip_in else r.snow_in end
                  from ops.climate_reports r
                 where r.city_code = dy.city_code and r.climate_date = dy.day and r.is_final and r.fetched_at <= p_as_of
                 order by r.issued_at desc, r.fetched_at desc limit 1) as amount
          from days dy where dy.day < dy.today),
    -- the newest normal to date the month's bulletins gave
    normal_cli as (
        select distinct on (mo.city_code, mo.kind, mo.month) mo.city_code, mo.kind, mo.month, r.climate_date as through,
               case mo.kind when 'monthly_rain' then r.precip_mtd_normal_in else r.snow_mtd_normal_in end as normal_mtd
          from months mo
          join ops.climate_reports r
            on r.city_code = mo.city_code and r.is_final and r.fetched_at <= p_as_of
           and r.climate_date >= mo.month and r.climate_date < mo.month + interval '1 month'
           and case mo.kind when 'monthly_rain' then r.precip_mtd_normal_in else r.snow_mtd_normal_in end is not null
         order by mo.city_code, mo.kind, mo.month, r.climate_date desc, r.issued_at desc),
    normal as (
        select mo.city_code, mo.kind, mo.month,
               extract(day from (mo.month + interval '1 month' - interval '1 day'))::int as n_days,
               case when cl.mean_in is not null and nc.normal_mtd is not null
                         and nc.through < (mo.month + interval '1 month' - interval '1 day')::date
                    then greatest(cl.mean_in - nc.normal_mtd, 0)
                         / ((mo.month + interval '1 month' - interval '1 day')::date - nc.through)
                    when cl.mean_in is not null
                    then cl.mean_in / extract(day from (mo.month + interval '1 month' - interval '1 day'))
                    when nc.normal_mtd is not null
                    then nc.normal_mtd / extract(day from nc.through)
               end::numeric(8,4) as normal_day,
               case when cl.mean_in is not null and nc.normal_mtd is not null then 'month normal (' || cl.source || ') minus the CLI normal to date'
                    when cl.mean_in is not null then 'month normal (' || cl.source || ')'
                    when nc.normal_mtd is not null then format('CLI normal to %s, extrapolated', nc.through)
               end as normal_source,
               coalesce(nullif(cl.wet_days, 0) / extract(day from (mo.month + interval '1 month' - interval '1 day')),
                        pr.wet_day_prob)::numeric(4,3) as p_wet,
               pr.wet_shape, pr.step_in
          from months mo
          join ops.monthly_prior pr on pr.kind = mo.kind
          left join ops.monthly_climatology cl
                 on cl.city_code = mo.city_code and cl.kind = mo.kind and cl.month = extract(month from mo.month)
          left join normal_cli nc on nc.city_code = mo.city_code and nc.kind = mo.kind and nc.month = mo.month),
    -- every day not observed: the newest usable forecast of it (a day old at most), if any
    unknown as (
        select dy.city_code, dy.kind, dy.month, dy.day, f.pop, f.amount, f.hours, f.at
          from days dy
          left join observed o on o.city_code = dy.city_code and o.kind = dy.kind and o.month = dy.month and o.day = dy.day
          left join lateral (
                select pf.pop, case dy.kind when 'monthly_rain' then pf.qpf_in else pf.snow_in end as amount, pf.hours,
                       greatest(pf.fetched_at, case when ws.last_seen_at is not null then least(ws.last_seen_at, p_as_of) end) as at
                  from ops.precip_forecasts pf join ops.weather_snapshots ws on ws.id = pf.snapshot_id
                 where pf.city_code = dy.city_code and pf.climate_date = dy.day and not pf.is_stale
                   and pf.fetched_at <= p_as_of and pf.fetched_at > p_as_of - interval '1 day'
                   and case dy.kind when 'monthly_rain' then pf.qpf_in else pf.snow_in end is not null
                 order by pf.fetched_at desc limit 1) f on true
         where o.amount is null),
    -- each unknown day as one or two wet/dry parts (p, mean amount if wet m): the forecast of the hours it
    -- covers, and climatology for the rest of the day
    parts as (
        select u.city_code, u.kind, u.month, true as forecast,
               -- measurable amount forecast: wet with the PoP (at least 5 %); none: wet only with the PoP and
               -- then one step (rain: a PoP with a QPF under 0.005 in); snow: no snowfall forecast is dry
               case when u.amount > 0 then greatest(coalesce(u.pop, 1), 0.05)
                    when u.kind = 'monthly_rain' then coalesce(u.pop, 0) else 0 end::float8 as p,
               case when u.amount > 0 then u.amount / greatest(coalesce(u.pop, 1), 0.05) else n.step_in end::float8 as m
          from unknown u join normal n on n.city_code = u.city_code and n.kind = u.kind and n.month = u.month
         where u.amount is not null
        union all
        select u.city_code, u.kind, u.month, false,
               (n.p_wet * (1 - least(coalesce(u.hours, 0), 24) / 24))::float8,
               (n.normal_day / n.p_wet)::float8
          from unknown u join normal n on n.city_code = u.city_code and n.kind = u.kind and n.month = u.month
         where coalesce(u.hours, 0) < 24 and n.normal_day > 0),
    agg as (
        select pa.city_code, pa.kind, pa.month,
               -- (the filter, not the case, keeps ln(0) out: an aggregate is computed before the case looks)
               case when bool_or(pa.p >= 1) then 0 else exp(coalesce(sum(ln(1 - pa.p)) filter (where pa.p < 1), 0)) end as p_dry,
               sum(pa.p * pa.m) as mean_in,
               sum(pa.p * pa.m * pa.m * (1 + 1 / n.wet_shape::float8) - (pa.p * pa.m) * (pa.p * pa.m)) as var_in
          from parts pa join normal n on n.city_code = pa.city_code and n.kind = pa.kind and n.month = pa.month
         group by pa.city_code, pa.kind, pa.month),
    per_month as (
        select mo.city_code, mo.kind, mo.month,
               coalesce(sum(o.amount), 0) as mtd,
               count(o.amount)::int as n_obs,
               (select count(*) from unknown u where u.city_code = mo.city_code and u.kind = mo.kind and u.month = mo.month)::int as n_unknown,
               (select count(*) from unknown u where u.city_code = mo.city_code and u.kind = mo.kind and u.month = mo.month
                                                 and u.amount is not null)::int as n_fc,
               (select count(*) from unknown u where u.city_code = mo.city_code and u.kind = mo.kind and u.month = mo.month
                                                 and coalesce(u.hours, 0) < 24)::int as n_clim,
               greatest((select max(u.at) from unknown u where u.city_code = mo.city_code and u.kind = mo.kind and u.month = mo.month),
                        (select max(r.fetched_at) from ops.climate_reports r
                          where r.city_code = mo.city_code and r.is_final and r.fetched_at <= p_as_of
                            and r.climate_date >= mo.month - 1 and r.climate_date < mo.month + interval '1 month')) as weather_at
          from months mo
          left join observed o on o.city_code = mo.city_code and o.kind = mo.kind and o.month = mo.month
         group by mo.city_code, mo.kind, mo.month)
    select pm.city_code, pm.kind, pm.month, pm.mtd, pm.n_obs, pm.n_unknown, pm.n_fc, n.normal_day, n.normal_source,
           n.p_wet, n.wet_shape, n.step_in,
           -- no part left (every day observed, or nothing can fall): the total is known
           case when pm.n_clim > 0 and n.normal_day is null then null else coalesce(a.p_dry, 1) end,
           case when pm.n_clim > 0 and n.normal_day is null then null else coalesce(a.mean_in, 0) end,
           case when pm.n_clim > 0 and n.normal_day is null then null else greatest(coalesce(a.var_in, 0), 0) end,
           pm.weather_at,
           case when pm.n_clim > 0 and n.normal_day is null
                then format('no normal for %s %s: no CLI normal to date this month and no climatology', pm.city_code, to_char(pm.month, 'YYYY-MM'))
                else format('%s in over %s of %s days observed; %s days to come (%s forecast); normal %s in/day (%s)',
                            pm.mtd, pm.n_obs, n.n_days, pm.n_unknown, pm.n_fc, coalesce(round(n.normal_day, 3)::text, 'n/a'),
                            coalesce(n.normal_source, 'not needed')) end
      from per_month pm
      join normal n on n.city_code = pm.city_code and n.kind = pm.kind and n.month = pm.month
      left join agg a on a.city_code = pm.city_code and a.kind = pm.kind and a.month = pm.month;
end;
comment on function ops.monthly_model(timestamptz, timestamptz) is 'Per city, kind and month with an open Monthly market: month to date, days to come, the normal used and the remaining total''s P(0), mean and variance (compound Bernoulli-gamma; forecast days from the gridpoint PoP/QPF).';
