-- The forecast error's CDF: P(error <= x) for an error with standard deviation `sigma`, either normal
-- (df null) or Student-t with `df` degrees of freedom scaled to the same standard deviation (real
-- forecast errors have fatter tails than a normal: the backtest compares the two).
-- Student-t for whole df without a gamma function (Postgres 15 has none): Abramowitz & Stegun 26.7.3/4,
-- A(t|ν) = P(|T| <= t) as a finite series in θ = atan(t/√ν); F(t) = (1 + sign(t)·A(|t||ν)) / 2.
-- The lower tail is returned directly as (1 - A)/2, so both tails keep their precision as long as A < 1.
create or replace function ops.student_t_cdf(t double precision, df integer)
returns double precision
language plpgsql immutable strict parallel safe as $$
declare
    th double precision := atan(abs(t) / sqrt(df));
    s double precision := sin(th);
    c2 double precision := cos(th) ^ 2;
    term double precision;
    total double precision;
    a double precision;
    j integer;
begin
    if df < 1 then
        raise exception 'student_t_cdf needs df >= 1, not %', df using errcode = 'invalid_parameter_value';
    end if;
    if t = 'NaN'::double precision then return 'NaN'; end if;
    if df % 2 = 1 then
        -- ν odd: A = 2/π [θ + sinθ cosθ (1 + 2/3 cos²θ + 2·4/(3·5) cos⁴θ + …)], the series up to cos^(ν-2)
        if df = 1 then
            a := 2 * th / pi();
        else
            term := 1; total := 1; j := 3;
            while j <= df - 2 loop
                term := term * c2 * (j - 1) / j;
                total := total + term;
                j := j + 2;
            end loop;
            a := 2 / pi() * (th + s * sqrt(c2) * total);
        end if;
    else
        -- ν even: A = sinθ (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + …), up to cos^(ν-2)
        term := 1; total := 1; j := 2;
        while j <= df - 2 loop
            term := term * c2 * (j - 1) / j;
            total := total + term;
            j := j + 2;
        end loop;
        a := s * total;
    end if;
    a := least(greatest(a, 0), 1);
    return case when t >= 0 then (1 + a) / 2 else (1 - a) / 2 end;
end
$$;
comment on function ops.student_t_cdf(double precision, integer) is 'Student-t CDF for whole degrees of freedom (Abramowitz & Stegun 26.7.3/26.7.4).';

create or replace function ops.model_cdf(x double precision, sigma double precision, df integer default null)
returns double precision
language sql immutable parallel safe
return case when df is null then ops.norm_cdf(x / sigma)
            -- a t with ν > 2 has sd = scale·√(ν/(ν-2)): scale it so sd = sigma
            else ops.student_t_cdf(x / (sigma * sqrt((df - 2)::double precision / df)), df) end;
comment on function ops.model_cdf(double precision, double precision, integer) is 'P(error <= x) for an error with sd sigma: normal (df null) or Student-t with df > 2 degrees of freedom at the same sd.';
