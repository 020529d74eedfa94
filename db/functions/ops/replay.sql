-- The Kalshi-style ladder the backtest scores on: two tails and four 2 °F brackets, the middle edge at
-- centre + 0.5 (<= c-4, c-3..c-2, c-1..c, c+1..c+2, c+3..c+4, >= c+5).
create or replace function ops.ladder_brackets(p_centre integer)
returns table (lo integer, hi integer)
language sql immutable parallel safe
begin atomic
    select * from (values (null::integer, p_centre - 4), (p_centre - 3, p_centre - 2), (p_centre - 1, p_centre),
                          (p_centre + 1, p_centre + 2), (p_centre + 3, p_centre + 4), (p_centre + 5, null::integer)) b(lo, hi);
end;
comment on function ops.ladder_brackets(integer) is 'The 6-outcome ladder around a centre the backtest scores on.';

-- Scores of one forecast distribution against the settled whole-degree value, on a whole-degree grid:
--  crps         the discrete CRPS (ranked probability score over 1 °F thresholds), °F;
--  brier_ladder the Brier score over ops.ladder_brackets(centre);
--  p_truth      the probability of the value that settled, and log_loss = -ln(p_truth).
create or replace function ops.forecast_scores(p_mu double precision, p_sigma double precision, p_df integer,
                                               p_kind text, p_truth integer, p_centre integer,
                                               out p_truth_p double precision, out crps double precision,
                                               out brier_ladder double precision, out log_loss double precision)
language sql immutable parallel safe
begin atomic
    select ops.bracket_probability(p_mu, p_sigma, p_truth, p_truth, p_kind, null, p_df),
           (select sum((ops.bracket_probability(p_mu, p_sigma, null, k, p_kind, null, p_df) - (p_truth <= k)::int) ^ 2)
              from generate_series(least(p_truth, round(p_mu)::int) - 40, greatest(p_truth, round(p_mu)::int) + 40) k),
           (select sum((ops.bracket_probability(p_mu, p_sigma, b.lo, b.hi, p_kind, null, p_df)
                        - (p_truth between coalesce(b.lo, -1000) and coalesce(b.hi, 1000))::int) ^ 2)
              from ops.ladder_brackets(p_centre) b),
           -ln(greatest(ops.bracket_probability(p_mu, p_sigma, p_truth, p_truth, p_kind, null, p_df), 1e-9));
end;
comment on function ops.forecast_scores(double precision, double precision, integer, text, integer, integer)
    is 'CRPS on the whole-degree grid, Brier score over a 6-outcome ladder around centre, p(truth) and log loss of one forecast distribution.';

-- The backtest: replay the live model over history already loaded into THIS database (a scratch
-- database: `milkbot backtest` never touches the operator's), at each decision time the cycle uses,
-- given as offsets from the start of the climate day (00:00 local standard time): -14 h the market's
-- open (D-1 10:00), -6 h D-1 evening, 0 D midnight, +8 h D morning. For every settled (city, kind, day)
-- in [p_from, p_to] and offset it decides exactly as the cycle would: first ops.refit_calibration_if_due
-- (so the calibration knows only truths known by then), then ops.model_inputs (with whatever observations
-- the database holds by then). Decisions run in time order; each row is scored against the value that
-- settled, beside the baseline N(the same forecast, 3 °F).
create or replace function ops.replay_decisions(p_from date, p_to date, p_offsets interval[] default array[interval '0'])
returns table (decision interval, city_code text, kind text, climate_date date, decided_at timestamptz, forecast_f numeric,
               mu double precision, sigma double precision, df integer, truth_f integer, p_truth double precision,
               crps double precision, crps_baseline double precision, brier_ladder double precision,
               brier_ladder_baseline double precision, log_loss double precision, log_loss_baseline double precision,
               source text, note text, ladder_p double precision[], ladder_hit integer[], pit double precision)
language plpgsql volatile
set search_path = pg_catalog, ops
as $fn$
#variable_conflict use_column
declare
    v_at timestamptz;
    v_n  integer := 0;
begin
    create temp table if not exists replay_out (
        decision interval, city_code text, kind text, climate_date date, decided_at timestamptz, forecast_f numeric,
        mu float8, sigma float8, df integer, truth_f integer, source text, note text) on commit drop;
    truncate replay_out;
    create temp table replay_targets on commit drop as
    select o.off as decision, t.city_code, t.kind, t.climate_date, t.value_f,
           ops.climate_day_start(t.climate_date, c.std_utc_offset) + o.off as at
      from ops.truths_at('infinity') t join ops.cities c on c.code = t.city_code
     cross join unnest(p_offsets) o(off)
     where t.climate_date between p_from and p_to
       -- only days some forecast was made for (the rest cannot be priced; skip their decision times)
       and exists (select 1 from ops.forecasts f
                    where f.city_code = t.city_code and f.climate_date = t.climate_date and f.kind = t.kind);

    for v_at in select distinct rt.at from replay_targets rt order by 1 loop
        -- the replay is one transaction, which autovacuum never sees: without fresh statistics the fits'
        -- lookups into the growing calibration tables turn into scans (a 300-day replay ran 2.5x slower)
        v_n := v_n + 1;
        if v_n % 25 = 0 then
            analyze ops.model_calibration;
            analyze ops.forecast_pairs;
        end if;
        perform ops.refit_calibration_if_due(v_at);
        insert into replay_out
        select rt.decision, rt.city_code, rt.kind, rt.climate_date, v_at, mi.forecast_f, mi.mu, mi.sigma, mi.df, rt.value_f,
               mi.source::text, mi.note
          from replay_targets rt
          join ops.model_inputs(v_at) mi on mi.city_code = rt.city_code and mi.kind = rt.kind and mi.climate_date = rt.climate_date
         where rt.at = v_at;
    end loop;
    drop table replay_targets;

    return query
    select o.decision, o.city_code, o.kind, o.climate_date, o.decided_at, o.forecast_f, o.mu, o.sigma, o.df, o.truth_f,
           m.p_truth_p, m.crps, b.crps, m.brier_ladder, b.brier_ladder, m.log_loss, b.log_loss, o.source, o.note,
           array(select ops.bracket_probability(o.mu, o.sigma, lb.lo, lb.hi, o.kind, null, o.df)
                   from ops.ladder_brackets(round(o.forecast_f)::int) lb order by lb.lo nulls first),
           array(select (o.truth_f between coalesce(lb.lo, -1000) and coalesce(lb.hi, 1000))::int
                   from ops.ladder_brackets(round(o.forecast_f)::int) lb order by lb.lo nulls first),
           -- the probability integral transform on the whole-degree grid, mid-point of the settled degree's
           -- step: a central X % interval covers the truth when |pit - 0.5| <= X / 2
           (ops.bracket_probability(o.mu, o.sigma, null, o.truth_f - 1, o.kind, null, o.df)
            + ops.bracket_probability(o.mu, o.sigma, null, o.truth_f, o.kind, null, o.df)) / 2
      from replay_out o
     cross join lateral ops.forecast_scores(o.mu, o.sigma, o.df, o.kind, o.truth_f, round(o.forecast_f)::int) m
     cross join lateral ops.forecast_scores(o.forecast_f::float8, 3, null, o.kind, o.truth_f, round(o.forecast_f)::int) b
     order by o.decision, o.city_code, o.kind, o.climate_date;
end
$fn$;
comment on function ops.replay_decisions(date, date, interval[]) is 'Backtest: the live model replayed at each decision time (offsets from 00:00 local standard time of the day) over the loaded history, each with only what was known then; scored against the settled value and the N(forecast, 3 °F) baseline.';

-- Day-ahead only (00:00 local standard time of the day): the backtest as it was first defined.
create or replace function ops.replay_day_ahead(p_from date, p_to date)
returns table (city_code text, kind text, climate_date date, decided_at timestamptz, forecast_f numeric,
               mu double precision, sigma double precision, df integer, truth_f integer, p_truth double precision,
               crps double precision, crps_baseline double precision, brier_ladder double precision,
               brier_ladder_baseline double precision, log_loss double precision, log_loss_baseline double precision,
               source text, note text, ladder_p double precision[], ladder_hit integer[])
language sql volatile
set search_path = pg_catalog, ops
begin atomic
    select r.city_code, r.kind, r.climate_date, r.decided_at, r.forecast_f, r.mu, r.sigma, r.df, r.truth_f, r.p_truth,
           r.crps, r.crps_baseline, r.brier_ladder, r.brier_ladder_baseline, r.log_loss, r.log_loss_baseline,
           r.source, r.note, r.ladder_p, r.ladder_hit
      from ops.replay_decisions(p_from, p_to, array[interval '0']) r;
end;
comment on function ops.replay_day_ahead(date, date) is 'Backtest: the live model replayed day-ahead (00:00 local standard time) over the loaded history, each day with only what was known then; scored against the settled value and the N(forecast, 3 °F) baseline.';

-- Replay of a recorded cycle's evaluation (issue 23 §1.10): every market evaluated again at the cycle's
-- p_as_of with the rows kept current in place as the database held them when it ran (ops.cycles.known_at),
-- compared field by field with the signals it recorded. No row = the replay is exact. Sizing is not
-- re-decided here: it also reads the orders' state then, which the order event log holds but this
-- comparison does not rebuild (the recorded size and reason are what the cycle decided).
create or replace function ops.replay_cycle(p_as_of timestamptz)
returns table (ticker text, field text, recorded text, replayed text)
language plpgsql stable
set search_path = pg_catalog, ops
as $fn$
#variable_conflict use_column
declare
    v_known timestamptz;
    v_events text[];
begin
    select c.known_at, (select array_agg(x) from jsonb_array_elements_text(nullif(c.result->'events', 'null'::jsonb)) x)
      into v_known, v_events from ops.cycles c where c.as_of = p_as_of;
    if v_known is null then
        raise exception 'no cycle was recorded at %', p_as_of using errcode = 'no_data_found';
    end if;
    if v_known < clock_timestamp() - interval '30 days' then
        raise exception 'the cycle at % ran % ago: the undo log keeps 30 days, it cannot be replayed exactly',
                        p_as_of, date_trunc('second', clock_timestamp() - v_known) using errcode = 'object_not_in_prerequisite_state';
    end if;
    return query
    with rec as (select s.* from ops.signals s where s.as_of = p_as_of),
    -- a per-event cycle decided its events only: the replay evaluates the same ones
    rep as (select e.* from ops.evaluate_markets(p_as_of, v_known, v_events) e),
    pairs as (
        select coalesce(r.ticker, e.ticker) as ticker, r.ticker is not null as in_rec, e.ticker is not null as in_rep,
               jsonb_build_object('strategy', r.strategy, 'model_p', r.model_p, 'yes_bid', r.yes_bid, 'yes_ask', r.yes_ask,
                                  'edge', r.edge, 'gates', r.gates,
                                  'eval_reason', case when r.gates @? '$.*.pass ? (@ == false)' then r.reason end) as a,
               jsonb_build_object('strategy', e.strategy, 'model_p', e.model_p::numeric(10,9), 'yes_bid', e.yes_bid::numeric(6,4),
                                  'yes_ask', e.yes_ask::numeric(6,4), 'edge', e.edge, 'gates', e.gates,
                                  'eval_reason', case when not e.all_pass then e.reason end) as b
          from rec r full join rep e on e.ticker = r.ticker and e.strategy = r.strategy)
    select p.ticker, 'market', case when p.in_rec then 'evaluated' else 'absent' end, case when p.in_rep then 'evaluated' else 'absent' end
      from pairs p where not (p.in_rec and p.in_rep)
    union all
    select p.ticker, k.key, p.a -> k.key #>> '{}', p.b -> k.key #>> '{}'
      from pairs p cross join lateral jsonb_object_keys(p.a) k(key)
     where p.in_rec and p.in_rep and (p.a -> k.key) is distinct from (p.b -> k.key)
     order by 1, 2;
end
$fn$;
comment on function ops.replay_cycle(timestamptz) is 'Differences between a recorded cycle''s signals and its evaluation replayed as of its as_of and the moment it ran; no row = exact.';
