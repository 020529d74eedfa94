-- Settlement truth (issue 14, section 4): Kalshi's own expiration_value once settled, else the CLI final;
-- a disagreement between them, or a change in a series' rules wording, is a risk event.
begin;
select plan(9);
\ir fixtures/nyc_ladder.sql

update ops.markets set rules_primary = format(
    'If the maximum temperature recorded at New York City (CLINYC) for Nov 26, 2026, is %s° fahrenheit according to The Weather Company, then the market resolves to Yes.',
    case strike_type when 'between' then format('between %s-%s', floor_strike, cap_strike)
                     when 'greater' then format('greater than %s', floor_strike) else format('less than %s', cap_strike) end)
 where event_ticker = 'KXHIGHNY-26NOV26';
select is((select count(*)::int from ops.risk_events where kind = 'settlement_rules_changed'), 0,
          'six brackets, one wording: the date and strike are masked');
select is((select count(*)::int from ops.series_rules where series_ticker = 'KXHIGHNY'), 1, 'the wording is remembered per series');

-- the CLI final lands first: the truth is the CLI's
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text)
values ('NYC', '2026-11-26', 'CLINYC-1', true, '2026-11-27 06:10Z', 49, 38, 'CLINYC');
select results_eq($$select value_f, source from ops.truths_at('2026-11-27 12:00Z') where city_code = 'NYC' and climate_date = '2026-11-26' and kind = 'high'$$,
                  $$values (49, 'cli')$$, 'before settlement the CLI final is the truth');

-- Kalshi settles on The Weather Company's value, 50: it becomes the truth from the moment it was seen, and the
-- two sources disagree
update ops.markets set status = 'finalized', result = case when ticker like '%B50.5' then 'yes' else 'no' end,
                       expiration_value = '50', expiration_value_at = '2026-11-27 14:00Z'
 where event_ticker = 'KXHIGHNY-26NOV26';
select results_eq($$select value_f, source from ops.truths_at('2026-11-27 15:00Z') where city_code = 'NYC' and climate_date = '2026-11-26' and kind = 'high'$$,
                  $$values (50, 'kalshi')$$, 'once settled, Kalshi''s expiration_value is the truth');
select results_eq($$select value_f, source from ops.truths_at('2026-11-27 13:00Z') where city_code = 'NYC' and climate_date = '2026-11-26' and kind = 'high'$$,
                  $$values (49, 'cli')$$, 'but not before it was known');
select results_eq($$select (detail->>'kalshi')::int, (detail->>'cli')::int, severity from ops.risk_events where kind = 'settlement_disagreement'$$,
                  $$values (50, 49, 'warning')$$, 'Kalshi 50 against the CLI''s 49: one risk event, not one per bracket');

-- a corrected CLI that agrees raises nothing more; one that disagrees differently is a new event
insert into ops.climate_reports (city_code, climate_date, product_id, is_final, issued_at, max_f, min_f, raw_text, is_correction)
values ('NYC', '2026-11-26', 'CLINYC-2', true, '2026-11-27 16:00Z', 50, 38, 'CLINYC CORRECTION', true);
select is((select count(*)::int from ops.risk_events where kind = 'settlement_disagreement'), 1, 'an agreeing correction adds nothing');

-- the wording changes (a new settlement source): critical, once
insert into ops.markets (ticker, event_ticker, series_ticker, city_code, climate_date, kind, strike_type, floor_strike, cap_strike,
                         open_time, close_time, status, rules_primary)
values ('KXHIGHNY-26NOV27-B50.5', 'KXHIGHNY-26NOV27', 'KXHIGHNY', 'NYC', '2026-11-27', 'high', 'between', 50, 51,
        '2026-11-26 15:00Z', '2026-11-28 04:59Z', 'active',
        'If the maximum temperature recorded at New York City (CLINYC) for Nov 27, 2026, is between 50-51° fahrenheit according to the National Weather Service, then the market resolves to Yes.');
select results_eq($$select severity, ticker from ops.risk_events where kind = 'settlement_rules_changed'$$,
                  $$values ('critical', 'KXHIGHNY-26NOV27-B50.5')$$, 'a new settlement source in the rules is a critical risk event');
update ops.markets set rules_primary = rules_primary || '' where ticker = 'KXHIGHNY-26NOV27-B50.5';
select is((select count(*)::int from ops.risk_events where kind = 'settlement_rules_changed'), 1, 'raised once, not on every read');

select * from finish();
rollback;
