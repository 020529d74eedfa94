-- Standard normal CDF. Postgres (before 16) has no erf, so this is Hart's algorithm 5666 as given by
-- G. West, "Better approximations to cumulative normal functions" (Wilmott, 2005): a rational
-- approximation of the tail below 7.07 and a continued fraction beyond, absolute error ~1e-15.
-- Tails use the symmetric branch, so 1 - Φ(x) never suffers cancellation when computed as Φ(-x).
create or replace function ops.norm_cdf(x double precision)
returns double precision
language plpgsql immutable strict parallel safe as $$
declare
    z double precision := abs(x);
    e double precision;
    n double precision;
    d double precision;
    c double precision;
begin
    if x = 'NaN'::double precision then
        return 'NaN';
    elsif z > 37 then
        c := 0;
    elsif z < 1e-100 then     -- z * z would underflow (Postgres raises rather than rounding to 0): Φ = 1/2
        c := 0.5;
    else
        e := exp(-z * z / 2);
        if z < 7.07106781186547 then
            n := ((((((3.52624965998911e-02 * z + 0.700383064443688) * z + 6.37396220353165) * z
                    + 33.912866078383) * z + 112.079291497871) * z + 221.213596169931) * z + 220.206867912376);
            d := (((((((8.83883476483184e-02 * z + 1.75566716318264) * z + 16.064177579207) * z
                    + 86.7807322029461) * z + 296.564248779674) * z + 637.333633378831) * z
                    + 793.826512519948) * z + 440.413735824752);
            c := e * n / d;
        else
            c := e / (z + 1 / (z + 2 / (z + 3 / (z + 4 / (z + 0.65))))) / 2.506628274631;
        end if;
    end if;
    return case when x > 0 then 1 - c else c end;
end
$$;
comment on function ops.norm_cdf(double precision) is 'Standard normal CDF Φ(x), absolute error < 1e-14 over the whole real line (Hart 5666 / West 2005).';
