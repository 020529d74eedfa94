-- Kelly for one more position on a ladder of mutually exclusive outcomes, sized as one decision with
-- what the ladder already holds (issue 23 §1.3). Sizing each bracket alone over-bets as soon as the
-- ladder holds correlated positions: a NO on one bracket already wins whenever another bracket's YES
-- wins, so adding that YES at its own Kelly size stacks two bets on the same outcomes.
--
-- For outcomes o with probabilities q_o (summing to 1), the ladder's payoff so far base_o and the
-- payoff of one more contract r_o (fee included), the number of contracts k >= 0 maximises the
-- expected log wealth  Σ q_o · ln(W + base_o + k · r_o),  with W = kelly_fraction × equity
-- (fractional Kelly as full Kelly on a fraction of the bankroll). With nothing else held on the ladder
-- this is exactly ops.kelly_contracts: W (q - c) / (c (1 - c)) with c = price + fee.
--
-- The objective is concave in k, so its derivative g(k) = Σ q_o r_o / (W + base_o + k r_o) falls with k:
-- the optimum is its root in [0, k_max), k_max being the first k that would leave some outcome (even one
-- the model calls impossible) with no wealth. Newton's method (g' = -Σ q r² / w²) kept inside a
-- bracket that shrinks with every step (a step leaving it bisects instead) converges in a handful of
-- steps; the cycle calls this once per candidate, so it must be cheap. The answer is rounded down:
-- the objective is concave, so the whole number below the optimum never over-bets.
create or replace function ops.ladder_kelly(p_q double precision[], p_base numeric[], p_r numeric[], p_wealth numeric)
returns numeric
language plpgsql immutable parallel safe
set search_path = pg_catalog, ops
as $$
declare
    n      integer := coalesce(array_length(p_q, 1), 0);
    q      double precision[];
    w0     double precision[];   -- wealth in each outcome before this order
    r      double precision[];
    qsum   double precision := 0;
    lo     double precision := 0;
    hi     double precision := 'infinity';
    kmax   double precision;
    x      double precision := 0;
    nx     double precision;
    g      double precision;
    dg     double precision;
    w      double precision;
begin
    if n = 0 or array_length(p_base, 1) is distinct from n or array_length(p_r, 1) is distinct from n then
        raise exception 'ladder_kelly: q, base and r must be arrays of the same non-zero length' using errcode = 'invalid_parameter_value';
    end if;
    if p_wealth is null or p_wealth <= 0 then
        return 0;
    end if;
    if array_position(p_q, null) is not null or array_position(p_base, null) is not null or array_position(p_r, null) is not null then
        raise exception 'ladder_kelly: an outcome has no probability, base or payoff' using errcode = 'invalid_parameter_value';
    end if;
    r := p_r::float8[];
    q := p_q;
    w0 := array_fill(0::float8, array[n]);
    for i in 1..n loop
        if q[i] < 0 then
            raise exception 'ladder_kelly: outcome % has a negative probability', i using errcode = 'invalid_parameter_value';
        end if;
        if q[i] < 1e-12 then q[i] := 0; end if;   -- (numeric(10,9) probabilities: below that is zero)
        qsum := qsum + q[i];
        w0[i] := p_wealth + p_base[i];
        if w0[i] <= 0 then
            return 0;          -- already at (or beyond) the Kelly bankroll in some outcome: add nothing
        end if;
        if r[i] < 0 then
            hi := least(hi, w0[i] / -r[i]);
        end if;
    end loop;
    if qsum <= 0 or hi = 'infinity' then
        return 0;   -- no probability at all, or a contract that loses in no outcome (a price of 0, bad data)
    end if;
    kmax := hi;
    for it in 1..100 loop
        g := 0; dg := 0;
        for i in 1..n loop
            continue when q[i] = 0;     -- an outcome the model calls impossible adds nothing (and may sit at zero wealth)
            w := w0[i] + x * r[i];
            if w <= 0 then              -- (floating point) at the edge of ruin in a possible outcome: too far
                g := '-infinity';
                exit;
            end if;
            g := g + q[i] * r[i] / w;
            dg := dg - q[i] * r[i] * r[i] / (w * w);
        end loop;
        if it = 1 and g <= 0 then
            return 0;                   -- no gain from the first contract: no bet
        end if;
        if g > 0 then lo := x; else hi := x; end if;
        nx := case when g = '-infinity' or dg >= 0 then (lo + hi) / 2 else x - g / dg end;
        if nx <= lo or nx >= hi then
            nx := (lo + hi) / 2;        -- Newton left the bracket: bisect
        end if;
        exit when abs(nx - x) < 1e-9 * greatest(1, x) or hi - lo < 1e-9 * greatest(1, lo);
        x := nx;
    end loop;
    -- an optimum that is a whole number is not lost to rounding; never the k that leaves no wealth
    return least(floor(greatest(lo, least(x, hi)) + 1e-7), ceil(kmax) - 1)::numeric;
end
$$;
comment on function ops.ladder_kelly(double precision[], numeric[], numeric[], numeric) is
    'Contracts to add on a ladder of exclusive outcomes (probabilities q, payoff so far base, payoff per contract r incl. fee): argmax of expected log wealth on a fractional bankroll, rounded down.';
