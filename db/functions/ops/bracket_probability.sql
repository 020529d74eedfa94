-- P(settlement in [lo, hi]) for an integer-valued settlement (the CLI's whole °F).
-- The latent temperature is N(mu, sigma); integer k takes the mass of (k - 0.5, k + 0.5].
-- lo/hi null = unbounded. Same-day conditioning:
--   high: the final max cannot be below the max observed so far -> truncate below at `observed`;
--   low:  the final min cannot be above the min observed so far -> truncate above at `observed`;
-- then mix with a point mass on the observed value with weight `observed_weight` (grows after the
-- local peak/trough time). Each piece is a telescoping difference of one CDF, so a complete ladder sums
-- to exactly 1 up to rounding.
create or replace function ops.bracket_probability(
    mu double precision, sigma double precision, lo numeric, hi numeric,
    kind text default 'high', observed numeric default null, observed_weight double precision default 0)
returns double precision
language plpgsql immutable parallel safe as $$
declare
    a numeric := lo;          -- effective integer bounds after truncation
    b numeric := hi;
    obs numeric := round(observed);
    mass double precision;    -- latent mass on [a, b]
    total double precision;   -- latent mass on the admissible region
    p double precision;
    hit double precision;
begin
    if mu is null or sigma is null or sigma <= 0 then
        raise exception 'bracket_probability needs a finite mu and sigma > 0 (got %, %)', mu, sigma
            using errcode = 'invalid_parameter_value';
    end if;
    if kind not in ('high', 'low') then
        raise exception 'kind must be high or low, not %', kind using errcode = 'invalid_parameter_value';
    end if;
    if obs is not null then
        if kind = 'high' then a := greatest(coalesce(a, obs), obs);
        else                  b := least(coalesce(b, obs), obs);
        end if;
    end if;
    if a is not null and b is not null and a > b then
        mass := 0;
    else
        -- Φ(upper) - Φ(lower), written so both tails use the accurate branch
        mass := (case when b is null then 1 else ops.norm_cdf(((b + 0.5) - mu) / sigma) end)
              - (case when a is null then 0 else ops.norm_cdf(((a - 0.5) - mu) / sigma) end);
        if a is not null and b is null then
            mass := ops.norm_cdf((mu - (a - 0.5)) / sigma);
        end if;
    end if;
    if obs is null then
        return greatest(mass, 0);
    end if;
    total := case when kind = 'high' then ops.norm_cdf((mu - (obs - 0.5)) / sigma)
                  else ops.norm_cdf(((obs + 0.5) - mu) / sigma) end;
    hit := case when (lo is null or obs >= lo) and (hi is null or obs <= hi) then 1 else 0 end;
    if total < 1e-300 then
        p := hit;                                   -- the model put no mass there: trust the observation
    else
        p := greatest(mass, 0) / total;
    end if;
    return observed_weight * hit + (1 - observed_weight) * p;
end
$$;
comment on function ops.bracket_probability(double precision, double precision, numeric, numeric, text, numeric, double precision)
    is 'P(integer settlement in [lo, hi]) under N(mu, sigma) discretised to whole degrees, truncated by the observed extreme and mixed with it.';

-- Kalshi strike semantics -> inclusive integer interval of settlement values that resolve YES.
--   between [floor, cap] inclusive; greater: > floor (strict); greater_or_equal: >= floor;
--   less: < cap (strict); less_or_equal: <= cap. Null = unbounded.
-- Two scalar expressions (inlined by the planner into set-based queries) and one row-valued wrapper.
create or replace function ops.yes_lo(strike_type text, floor_strike numeric, cap_strike numeric)
returns numeric language sql immutable parallel safe
return case strike_type when 'between' then ceil(floor_strike)
                        when 'greater' then floor(floor_strike) + 1
                        when 'greater_or_equal' then ceil(floor_strike) end;
comment on function ops.yes_lo(text, numeric, numeric) is 'Lowest whole-degree settlement that resolves YES (null = unbounded below).';

create or replace function ops.yes_hi(strike_type text, floor_strike numeric, cap_strike numeric)
returns numeric language sql immutable parallel safe
return case strike_type when 'between' then floor(cap_strike)
                        when 'less' then ceil(cap_strike) - 1
                        when 'less_or_equal' then floor(cap_strike) end;
comment on function ops.yes_hi(text, numeric, numeric) is 'Highest whole-degree settlement that resolves YES (null = unbounded above).';

create or replace function ops.yes_interval(strike_type text, floor_strike numeric, cap_strike numeric,
                                            out lo numeric, out hi numeric)
language sql immutable parallel safe
begin atomic
    select ops.yes_lo(strike_type, floor_strike, cap_strike), ops.yes_hi(strike_type, floor_strike, cap_strike);
end;
comment on function ops.yes_interval(text, numeric, numeric) is 'Inclusive integer settlement interval [lo, hi] (null = unbounded) that resolves YES, per Kalshi strike_type (greater/less are strict).';
