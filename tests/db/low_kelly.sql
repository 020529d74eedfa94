-- Until the low has an out-of-sample score, it trades with a smaller Kelly fraction (issue 24 §3).
begin;
select plan(2);
select is((select kelly_fraction from ops.effective_params() where strategy = 'DailyLow'), 0.10::numeric,
          'the daily low sizes on 0.10 of full Kelly');
select is((select kelly_fraction from ops.effective_params() where strategy = 'DailyHigh'), 0.25::numeric,
          'the daily high on the default 0.25');
select * from finish();
rollback;
