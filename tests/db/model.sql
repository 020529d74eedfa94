-- The probability model: Φ at known points, ladders summing to 1, Kalshi strike semantics,
-- observed-max / observed-min truncation.
begin;
select plan(16);

select ok(abs(ops.norm_cdf(0) - 0.5) < 1e-14, 'Φ(0) = 0.5');
select ok(abs(ops.norm_cdf(1) - 0.8413447460685429) < 1e-12, 'Φ(1)');
select ok(abs(ops.norm_cdf(-1.96) - 0.024997895148220435) < 1e-12, 'Φ(-1.96)');
select ok(abs(ops.norm_cdf(3) - 0.9986501019683699) < 1e-12, 'Φ(3)');
select ok(abs(ops.norm_cdf(-8) - 6.22096057427178e-16) < 1e-20, 'Φ(-8) keeps its tail accuracy');
select ok(ops.norm_cdf(40) = 1 and ops.norm_cdf(-40) = 0 and ops.norm_cdf('infinity') = 1 and ops.norm_cdf('-infinity') = 0, 'Φ at the extremes');

select results_eq(
    $$select (ops.yes_interval('between', 48, 49)).*
      union all select (ops.yes_interval('greater', 51, null)).*
      union all select (ops.yes_interval('less', null, 44)).*
      union all select (ops.yes_interval('greater_or_equal', 52, null)).*
      union all select (ops.yes_interval('less_or_equal', null, 43)).*$$,
    $$values (48::numeric, 49::numeric), (52, null), (null, 43), (52, null), (null, 43)$$,
    'Kalshi strikes: between is inclusive, greater/less are strict');

-- the NYC ladder <=43, 44-45, 46-47, 48-49, 50-51, >=52 under N(48, 2.5)
create temp table ladder(lo numeric, hi numeric) on commit drop;
insert into ladder values (null, 43), (44, 45), (46, 47), (48, 49), (50, 51), (52, null);
select ok(abs((select sum(ops.bracket_probability(48, 2.5, lo, hi)) from ladder) - 1) < 1e-9, 'the ladder sums to 1');
select ok(abs(ops.bracket_probability(48, 2.5, 48, 49) - (ops.norm_cdf(0.6) - ops.norm_cdf(-0.2))) < 1e-12
          and abs(ops.bracket_probability(48, 2.5, 48, 49) - 0.30500659168902944) < 1e-9,
          '48-49 °F carries Φ(0.6) - Φ(-0.2) = 0.30501');
select ok(abs(ops.bracket_probability(48, 2.5, 52, null) - 0.0807566592337711) < 1e-9, 'the >=52 tail is 1 - Φ(1.4)');

-- same day, max so far 50 °F: nothing below 50 can settle
select is((select array_agg(round(ops.bracket_probability(48, 2.5, lo, hi, 'high', 50, 0)::numeric, 9) order by lo nulls first) from ladder),
          array[0, 0, 0, 0, round(((ops.norm_cdf(1.4) - ops.norm_cdf(0.6)) / (1 - ops.norm_cdf(0.6)))::numeric, 9),
                round((ops.norm_cdf(-1.4) / (1 - ops.norm_cdf(0.6)))::numeric, 9)],
          'observed max 50 truncates the high below 50 and renormalises');
select ok(abs((select sum(ops.bracket_probability(48, 2.5, lo, hi, 'high', 50.4, 0.6)) from ladder) - 1) < 1e-9,
          'a truncated and observation-weighted ladder still sums to 1');
select ok(abs(ops.bracket_probability(48, 2.5, 50, 51, 'high', 50, 1) - 1) < 1e-12, 'full weight on the observed max puts all mass on its bracket');
-- low: min so far 45 °F: the final min cannot be above 45
select is((select array_agg(round(ops.bracket_probability(48, 2.5, lo, hi, 'low', 45, 0)::numeric, 6) order by lo nulls first) from ladder),
          array[round((ops.norm_cdf(-1.8) / ops.norm_cdf(-1.0))::numeric, 6),
                round(((ops.norm_cdf(-1.0) - ops.norm_cdf(-1.8)) / ops.norm_cdf(-1.0))::numeric, 6), 0, 0, 0, 0]::numeric[],
          'observed min 45 truncates the low above 45 and renormalises');
select ok(abs((select sum(ops.bracket_probability(30, 3, lo - 20, hi - 20, 'low', 27, 0.3)) from ladder) - 1) < 1e-9,
          'a truncated low ladder sums to 1');
select throws_ok($$select ops.bracket_probability(48, 0, 48, 49)$$, '22023', null, 'sigma must be positive');

select * from finish();
rollback;
