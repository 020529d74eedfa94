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
-- The objective is concave in k, so its derivative Σ q_o r_o / (W + base_o + k r_o) falls with k: the
-- optimum is its root, found by bisection on [0, k_max) where k_max is the first k that would leave
-- some outcome (even one the model calls impossible) with no wealth. The answer is rounded down: the
-- objective is concave, so the whole number below the optimum never over-bets.
create or replace function ops.ladder_kelly(p_q double precision[], p_base numeric[], p_r numeric[], p_wealth numeric)
returns numeric
language plpgsql immutable parallel safe
set search_path = pg_catalog, ops
as $$
declare
    n      integer := coalesce(array_length(p_q, 1), 0);
    qsum   double precision := 0;
    lo     double precision := 0;
    hi     double precision := 'infinity';
    mid    double precision;
    g      double precision;
    w      double precision;
begin
    if n = 0 or array_length(p_base, 1) is distinct from n or array_length(p_r, 1) is distinct from n then
        raise exception 'ladder_kelly: q, base and r must be arrays of the same non-zero length' using errcode = 'invalid_parameter_value';
    end if;
    if p_wealth is null or p_wealth <= 0 then
        return 0;
    end if;
    for i in 1..n loop
        if p_q[i] is null or p_q[i] < 0 or p_base[i] is null or p_r[i] is null then
            raise exception 'ladder_kelly: outcome % has no probability, base or payoff', i using errcode = 'invalid_parameter_value';
        end if;
        qsum := qsum + p_q[i];
        w := p_wealth + p_base[i];
        if w <= 0 then
            return 0;          -- already at (or beyond) the Kelly bankroll in some outcome: add nothing
        end if;
        if p_r[i] < 0 then
            hi := least(hi, w / -p_r[i]);
        end if;
    end loop;
    if qsum <= 0 then
        return 0;
    end if;
    -- derivative at 0 (probabilities normalised): no gain from the first contract = no bet
    g := 0;
    for i in 1..n loop
        continue when p_q[i] < 1e-12;
        g := g + p_q[i] / qsum * p_r[i] / (p_wealth + p_base[i]);
    end loop;
    if g <= 0 then
        return 0;
    end if;
    if hi = 'infinity' then
        -- no outcome loses: no real contract does that (a price of 0 or bad data); bet nothing
        return 0;
    end if;
    -- bisection: 60 halvings of [0, k_max) reach far below one contract
    for it in 1..60 loop
        mid := (lo + hi) / 2;
        g := 0;
        for i in 1..n loop
            continue when p_q[i] < 1e-12;   -- an outcome the model calls impossible adds nothing (and may sit at zero wealth)
            w := p_wealth + p_base[i] + mid * p_r[i];
            if w <= 0 then              -- (floating point) at the edge of ruin in a possible outcome: too far
                g := '-infinity';
                exit;
            end if;
            g := g + p_q[i] / qsum * p_r[i] / w;
        end loop;
        if g > 0 then lo := mid; else hi := mid; end if;
    end loop;
    -- an optimum that is a whole number is not lost to the last halving; never the k that leaves no wealth
    return least(floor(lo + 1e-9), ceil(hi) - 1)::numeric;
end
$$;
comment on function ops.ladder_kelly(double precision[], numeric[], numeric[], numeric) is
    'Contracts to add on a ladder of exclusive outcomes (probabilities q, payoff so far base, payoff per contract r incl. fee): argmax of expected log wealth on a fractional bankroll, rounded down.';
