-- P(settlement in [lo, hi]) for an integer-valued settlement (the CLI's whole °F).
-- The temperature still to come is X = mu + error (error: ops.model_cdf with sd sigma, normal or
-- Student-t); whole degree k takes the mass of (k - 0.5, k + 0.5]. lo/hi null = unbounded.
-- Same day, with the extreme observed so far `observed` (rounded like the CLI rounds it):
--   high: the day's max S = max(observed, X), so P(S <= k) = [observed <= k] · P(X <= k + 0.5);
--   low:  S = min(observed, X),              so P(S >= k) = [observed >= k] · P(X >= k - 0.5).
-- Here mu/sigma describe the REST of the day (ops.model_inputs shrinks them as hours pass), so when the
-- observed max already exceeds what is left, the mass piles onto the observed value instead of being
-- renormalised above it. Every bracket is a difference of one cumulative function, so a complete
-- ladder telescopes to exactly 1; tails use the symmetric branch of the error CDF (no cancellation).
create or replace function ops.bracket_probability(
    mu double precision, sigma double precision, lo numeric, hi numeric,
    kind text default 'high', observed numeric default null, df integer default null)
returns double precision
language plpgsql immutable parallel safe as $$
declare
    obs numeric := round(observed);
    p_le_hi double precision;   -- high: P(S <= hi);    low: P(S >= lo)
    p_le_lo double precision;   -- high: P(S <= lo - 1); low: P(S >= hi + 1)
begin
    if mu is null or sigma is null or not sigma > 0 or mu in ('NaN', 'Infinity', '-Infinity') then
        raise exception 'bracket_probability needs a finite mu and sigma > 0 (got %, %)', mu, sigma
            using errcode = 'invalid_parameter_value';
    end if;
    if kind not in ('high', 'low') then
        raise exception 'kind must be high or low, not %', kind using errcode = 'invalid_parameter_value';
    end if;
    if lo is not null and hi is not null and lo > hi then
        return 0;
    end if;
    if kind = 'high' then
        p_le_hi := case when hi is null then 1
                        when obs > hi then 0
                        else ops.model_cdf((hi + 0.5) - mu, sigma, df) end;
        if lo is null then
            return p_le_hi;
        end if;
        if hi is null then   -- P(S >= lo), the upper tail through the symmetric branch
            return case when obs >= lo then 1 else ops.model_cdf(mu - (lo - 0.5), sigma, df) end;
        end if;
        p_le_lo := case when obs > lo - 1 then 0 else ops.model_cdf((lo - 0.5) - mu, sigma, df) end;
    else
        p_le_hi := case when lo is null then 1
                        when obs < lo then 0
                        else ops.model_cdf(mu - (lo - 0.5), sigma, df) end;
        if hi is null then
            return p_le_hi;
        end if;
        if lo is null then   -- P(S <= hi), the lower tail directly
            return case when obs <= hi then 1 else ops.model_cdf((hi + 0.5) - mu, sigma, df) end;
        end if;
        p_le_lo := case when obs < hi + 1 then 0 else ops.model_cdf(mu - (hi + 0.5), sigma, df) end;
    end if;
    return greatest(p_le_hi - p_le_lo, 0);
end
$$;
comment on function ops.bracket_probability(double precision, double precision, numeric, numeric, text, numeric, integer)
    is 'P(whole-degree settlement in [lo, hi]) when the rest of the day is mu + error (sd sigma, normal or Student-t df) and the day''s extreme so far is observed.';

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
