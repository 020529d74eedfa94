-- Monthly precipitation markets: P(month total in [lo, hi]) given the month-to-date observed total and
-- a climatological distribution for the rest of the month. The remaining amount is modelled as
-- N(mean * f, sd * sqrt(f)) truncated at 0, f = remaining days / days in month (a deliberately simple,
-- documented choice; the climatology itself must come with a documented source in
-- ops.monthly_climatology). lo/hi are inches; null = unbounded.
create or replace function ops.monthly_probability(mtd numeric, lo numeric, hi numeric, remaining_days integer,
                                                   days_in_month integer, clim_mean numeric, clim_sd numeric)
returns double precision
language plpgsql immutable parallel safe as $$
declare
    f double precision := remaining_days::float8 / days_in_month;
    mu double precision := clim_mean * f;
    sigma double precision := greatest(clim_sd * sqrt(f), 1e-6);
    z0 double precision;
    norm double precision;

begin
    if mtd is null or mtd < 0 or remaining_days < 0 or days_in_month <= 0 or clim_mean < 0 or clim_sd < 0 then
        raise exception 'monthly_probability: bad inputs (mtd %, remaining %, days %, mean %, sd %)',
            mtd, remaining_days, days_in_month, clim_mean, clim_sd using errcode = 'invalid_parameter_value';
    end if;
    if remaining_days = 0 or clim_mean = 0 then                  -- nothing more to come: the total is known
        return case when (lo is null or mtd >= lo) and (hi is null or mtd <= hi) then 1 else 0 end;
    end if;
    z0 := ops.norm_cdf(-mu / sigma);                               -- mass below 0, cut off
    norm := 1 - z0;
    return greatest(0, least(1,
        (case when hi is null then 1
              when hi - mtd < 0 then 0
              else (ops.norm_cdf(((hi - mtd) - mu) / sigma) - z0) / norm end)
      - (case when lo is null or lo - mtd <= 0 then 0
              else (ops.norm_cdf(((lo - mtd) - mu) / sigma) - z0) / norm end)));
end
$$;
comment on function ops.monthly_probability(numeric, numeric, numeric, integer, integer, numeric, numeric)
    is 'P(monthly total in [lo, hi]) from the month-to-date total and a truncated-normal climatology for the remaining days.';
