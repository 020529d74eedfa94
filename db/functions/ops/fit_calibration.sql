-- Calibration learns from the system's own history: for every CLI final in the rolling window, pair it
-- with the forecast we held for that day at each lead (the last forecast fetched during the climate
-- day `lead` days before), and fit bias = mean(final - forecast), sigma = sd(final - forecast) per
-- city x kind x lead. A cell with too few pairs keeps its previous fit (or the prior). Returns the
-- number of cells fitted.
create or replace function ops.fit_calibration(p_as_of timestamptz)
returns integer
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    v_window integer := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_window_days');
    v_min_n  integer := (select value from ops.strategy_params where strategy = 'all' and name = 'calibration_min_pairs');
    v_fitted integer;
begin
    with finals as (
        select distinct on (r.city_code, r.climate_date) r.city_code, r.climate_date, r.max_f, r.min_f
          from ops.climate_reports r
         where r.is_final and r.issued_at <= p_as_of
           and r.climate_date > (p_as_of::date - v_window)
         order by r.city_code, r.climate_date, r.issued_at desc
    ),
    actuals as (
        select city_code, climate_date, 'high' as kind, max_f as actual from finals where max_f is not null
        union all
        select city_code, climate_date, 'low', min_f from finals where min_f is not null
    ),
    pairs as (
        select a.city_code, a.kind, l.lead, a.actual - f.forecast_f as err
          from actuals a
          join ops.cities c on c.code = a.city_code
          cross join generate_series(0, 3) l(lead)
          cross join lateral (
                select fc.forecast_f from ops.forecasts fc
                 where fc.city_code = a.city_code and fc.climate_date = a.climate_date and fc.kind = a.kind
                   and not fc.is_stale and fc.fetched_at <= p_as_of
                   and ops.climate_date(fc.fetched_at, c.std_utc_offset) = a.climate_date - l.lead
                 order by fc.fetched_at desc, fc.source = 'gridpoint' desc limit 1) f
    ),
    fits as (
        insert into ops.model_calibration (city_code, kind, lead_days, fitted_on, bias, sigma, n, window_days, is_prior)
        select city_code, kind, lead, p_as_of::date, round(avg(err), 3),
               round(greatest(coalesce(stddev_samp(err), 0), 0.5), 3), count(*), v_window, false
          from pairs
         group by city_code, kind, lead
        having count(*) >= v_min_n
        on conflict (city_code, kind, lead_days, fitted_on) do update
           set bias = excluded.bias, sigma = excluded.sigma, n = excluded.n, window_days = excluded.window_days
        returning 1
    )
    select count(*) into v_fitted from fits;
    return v_fitted;
end
$$;
comment on function ops.fit_calibration(timestamptz) is 'Re-fit bias and sigma per city x kind x lead from CLI finals in the rolling window; returns cells fitted.';
