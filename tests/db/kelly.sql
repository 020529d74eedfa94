-- Kelly with the fee (issue 23 §1.3): the all-in price c = price + fee sizes the bet; one fee everywhere.
begin;
select plan(6);

-- contracts per $1 of equity at full Kelly: (q - c) / (c (1 - c)), q = edge + c
select is(ops.kelly_contracts(0.03, 0.01, 0.01, 1, 10000), floor(10000 * 0.03 / (0.02 * 0.98)),
          '1 cent + 1 cent fee, q = 5 %: sized on c = 2 cents');
select ok(ops.kelly_contracts(0.03, 0.01, 0.01, 1, 10000) * 1.9 < floor(10000 * 0.03 / (1 - 0.01) / 0.01),
          'the old formula (fee left out of c) sized almost twice as much at 1 cent');
select is(ops.kelly_contracts(0.05, 0.05, 0.01, 1, 10000), floor(10000 * 0.05 / (0.06 * 0.94)),
          '5 cents + 1 cent fee');
select is(ops.kelly_contracts(-0.01, 0.40, 0.02, 1, 1000), 0::numeric, 'no edge, no bet');
select is(ops.kelly_contracts(0.10, 0.40, 0.02, 0.25, 1000), floor(0.25 * 1000 * 0.10 / (0.42 * 0.58)), 'a quarter Kelly');
select is(ops.fee_per_contract(0.40, null), ops.taker_fee(0.40, 1, 1), 'an unknown fee multiplier is 1');

select * from finish();
rollback;
