-- The probability model: Φ at known points, ladders summing to 1, Kalshi strike semantics,
-- observed-max / observed-min truncation.
begin;
select plan(21);

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

-- same day: the day's max is max(observed so far, the rest of the day ~ N(48, 2.5))
select is((select array_agg(round(ops.bracket_probability(48, 2.5, lo, hi, 'high', 50)::numeric, 9) order by lo nulls first) from ladder),
          array[0, 0, 0, 0, round(ops.norm_cdf(1.4)::numeric, 9), round(ops.norm_cdf(-1.4)::numeric, 9)],
          'observed max 50: the brackets below are impossible, the rest of the day below 50 piles onto 50-51');
select ok(abs((select sum(ops.bracket_probability(48, 2.5, lo, hi, 'high', 50.4)) from ladder) - 1) < 1e-9,
          'a same-day ladder still sums to 1');
select ok(abs(ops.bracket_probability(44, 0.5, 50, 51, 'high', 50) - 1) < 1e-12,
          'a day whose rest is well below the observed max settles on the observed max');
-- low: min so far 45 °F, the rest of the day ~ N(48, 2.5): S = min(45, X)
select is((select array_agg(round(ops.bracket_probability(48, 2.5, lo, hi, 'low', 45)::numeric, 9) order by lo nulls first) from ladder),
          array[round(ops.norm_cdf(-1.8)::numeric, 9), round(ops.norm_cdf(1.8)::numeric, 9), 0, 0, 0, 0]::numeric[],
          'observed min 45: nothing above 45, and the rest of the day can still go below it');
select ok(abs((select sum(ops.bracket_probability(30, 3, lo - 20, hi - 20, 'low', 27)) from ladder) - 1) < 1e-9,
          'a same-day low ladder sums to 1');
-- Student-t errors: known quantiles, and the variance-matched scale
select ok(abs(ops.student_t_cdf(1, 1) - 0.75) < 1e-12, 't(1) = Cauchy: F(1) = 0.75');
select ok(abs(ops.student_t_cdf(1.5, 2) - (0.5 + 1.5 / (2 * sqrt(2 + 1.5 ^ 2)))) < 1e-12, 't(2): F(t) = 1/2 + t / (2 √(2 + t²))');
select ok(abs(ops.student_t_cdf(2.015048373, 5) - 0.95) < 1e-8 and abs(ops.student_t_cdf(-2.228138852, 10) - 0.025) < 1e-8,
          't(5) 95% and t(10) 2.5% quantiles');
select ok(abs(ops.model_cdf(2.5, 2.5, null) - ops.norm_cdf(1)) < 1e-15
          and abs(ops.model_cdf(2.5 * sqrt(3.0 / 5), 2.5, 5) - ops.student_t_cdf(1, 5)) < 1e-12,
          'model_cdf: normal at sd sigma; t(5) scaled by √((ν-2)/ν) so its sd is sigma too');
select ok(abs((select sum(ops.bracket_probability(48, 2.5, lo, hi, 'high', null, 5)) from ladder) - 1) < 1e-9
          and ops.bracket_probability(48, 2.5, 52, null, 'high', null, 5) < ops.bracket_probability(48, 2.5, 52, null)
          and ops.bracket_probability(48, 2.5, 56, null, 'high', null, 5) > ops.bracket_probability(48, 2.5, 56, null),
          'a t ladder sums to 1, with less mass near the shoulders and more in the far tail than the normal');
select throws_ok($$select ops.bracket_probability(48, 0, 48, 49)$$, '22023', null, 'sigma must be positive');

select * from finish();
rollback;
