-- Every privilege the app roles hold, in one place, re-applied after each migration.
-- Start from nothing, then grant exactly what each role needs. tests/db/expected_privileges.txt pins
-- the resulting matrix: widening any grant fails the test suite.

revoke all on schema ops, analytics, api, meta, public from public;  -- public holds nothing of ours
revoke all on all tables    in schema ops, api, meta from public, web_anon, milkbot_authenticator, milkbot_ingest, milkbot_executor, milkbot_analytics, milkbot_operator, milkbot_cycle;
revoke all on all sequences in schema ops, meta      from public, web_anon, milkbot_authenticator, milkbot_ingest, milkbot_executor, milkbot_analytics, milkbot_operator, milkbot_cycle;
revoke all on all functions in schema ops, api, meta from public, web_anon, milkbot_authenticator, milkbot_ingest, milkbot_executor, milkbot_analytics, milkbot_operator, milkbot_cycle;
revoke all on schema pgmq from public;
revoke all on all tables    in schema pgmq from public, web_anon, milkbot_ingest, milkbot_executor, milkbot_analytics, milkbot_operator;
revoke all on all functions in schema pgmq from public, web_anon, milkbot_ingest, milkbot_executor, milkbot_analytics, milkbot_operator;

-- web_anon (PostgREST): the api views and nothing else.
grant usage on schema api to web_anon;
grant select on all tables in schema api to web_anon;
grant execute on function api.pre_request() to web_anon;   -- PostgREST runs it before every request

-- ingest: lands snapshots and market metadata; reads what it needs to deduplicate. No order rights.
grant usage on schema ops to milkbot_ingest;
grant select on ops.cities, ops.markets, ops.nws_grids, ops.market_snapshots, ops.weather_snapshots,
                ops.forecasts, ops.observations, ops.climate_reports to milkbot_ingest;
grant insert, update on ops.markets, ops.nws_grids to milkbot_ingest;
grant insert on ops.market_snapshots, ops.weather_snapshots, ops.forecasts, ops.observations,
                ops.climate_reports, ops.ingest_errors to milkbot_ingest;
grant update (is_stale, last_seen_at) on ops.weather_snapshots to milkbot_ingest;
grant update (last_seen_at) on ops.market_snapshots to milkbot_ingest;
grant execute on function ops.heartbeat(text, boolean, text) to milkbot_ingest;
grant execute on function ops.run_cycle(timestamptz, text[]) to milkbot_ingest;  -- the ingest loop calls the cycle after each pass (and the reaction, per event)

-- executor: reads intents and controls; writes order, fill and position state.
grant usage on schema ops, pgmq to milkbot_executor;
grant select on ops.orders, ops.markets, ops.market_snapshots, ops.trading_state, ops.risk_limits,
                ops.strategy_params, ops.cities, ops.fills, ops.positions to milkbot_executor;
grant update (state, exchange_order_id, filled_count, count, decrease_to, last_error, updated_at) on ops.orders to milkbot_executor;
grant insert on ops.fills, ops.risk_events to milkbot_executor;
grant insert, update on ops.positions to milkbot_executor;
grant select, update, delete on pgmq.q_order_intents to milkbot_executor;
grant select, insert on pgmq.a_order_intents to milkbot_executor;
grant select on pgmq.meta to milkbot_executor;
grant execute on function pgmq.read(text, integer, integer, jsonb), pgmq.archive(text, bigint),
                          pgmq.delete(text, bigint), pgmq.set_vt(text, bigint, integer),
                          pgmq.format_table_name(text, text), pgmq.validate_queue_name(text) to milkbot_executor;
grant execute on function ops.heartbeat(text, boolean, text) to milkbot_executor;

-- analytics (dbt): reads ops, builds into analytics.
grant usage on schema ops to milkbot_analytics;
grant select on all tables in schema ops to milkbot_analytics;
grant usage, create on schema analytics to milkbot_analytics;
grant execute on function ops.heartbeat(text, boolean, text) to milkbot_analytics;

-- operator: reads everything; edits parameters, limits, trading state and city switches only.
grant usage on schema ops, analytics, api, pgmq, meta to milkbot_operator;
grant select on all tables in schema ops, api, meta, pgmq to milkbot_operator;
grant update (value) on ops.strategy_params, ops.risk_limits to milkbot_operator;
grant update (state, reason, changed_at, changed_by) on ops.trading_state to milkbot_operator;
grant update (enabled) on ops.cities to milkbot_operator;
grant select on ops.row_undo, ops.cycles to milkbot_operator;   -- what replays read
grant insert on ops.control_audit to milkbot_operator;  -- only through the audit trigger (see its guard)
grant select on all tables in schema analytics to milkbot_operator;
-- `milkbot explain`: a market's recorded decision in words (reads what the operator may read anyway)
grant execute on function ops.explain(text, timestamptz), ops.utc_words(timestamptz), ops.pct_words(numeric) to milkbot_operator;
-- tables dbt builds later are granted to the operator by dbt itself (dbt_project.yml +grants).

-- trading-cycle inputs: ingest writes exchange status and daily precipitation; the operator curates
-- the Monthly strategy's series and climatology.
grant select, insert, update on ops.exchange_status to milkbot_ingest;
grant select, insert on ops.monthly_observed to milkbot_ingest;
grant update (series_ticker, enabled, reason, checked_at) on ops.monthly_series to milkbot_operator;
grant select, update (listed_ticker, listed_title, listed_at) on ops.monthly_series to milkbot_ingest;   -- discovery
grant execute on function ops.record_monthly_listing(jsonb, timestamptz), ops.monthly_series_to_read() to milkbot_ingest;
grant insert, update on ops.monthly_climatology to milkbot_operator;
grant update (wet_day_prob, wet_shape, source) on ops.monthly_prior to milkbot_operator;
-- the WebSocket feed (in the executor's zone: its connection is signed with the Kalshi key) hands each
-- batch to SQL, which keeps the tape and the live book; it records its own health
grant execute on function ops.record_feed(text, jsonb, timestamptz), ops.feed_alive(text, timestamptz),
                          ops.feed_lost(text, timestamptz, text), ops.feed_markets(timestamptz),
                          ops.prune_tape(timestamptz) to milkbot_executor;
grant execute on function ops.replay_book(text, timestamptz), ops.book_top(text), ops.feed_markets(timestamptz),
                          ops.tape_markets(timestamptz, timestamptz), ops.tape_candles(timestamptz, timestamptz, integer), ops.tape_quotes(timestamptz, timestamptz),
                          ops.tape_ticks(timestamptz, timestamptz) to milkbot_operator;
grant execute on function ops.record_rest_book(text, text, timestamptz, numeric, numeric, numeric, numeric, text) to milkbot_ingest;
-- the gridpoint's precipitation forecast per climate day (the Monthly model's forecast days)
grant select, insert on ops.precip_forecasts to milkbot_ingest;
grant execute on function ops.fit_calibration(timestamptz), ops.refit_calibration_if_due(timestamptz) to milkbot_operator, milkbot_ingest;
-- ingest lands the hourly forecast hour by hour for the same-day model
grant select, insert on ops.hourly_temps to milkbot_ingest;
grant execute on function ops.health_event(text, text, text) to milkbot_ingest, milkbot_executor, milkbot_analytics;
-- the market blend (issue 24 §4): its fits are read by the operator and the analytics
grant select on ops.blend_fits to milkbot_operator, milkbot_analytics;
grant execute on function ops.fit_blend(timestamptz), ops.blend_weights_at(timestamptz, timestamptz),
                          ops.settled_trades(timestamptz, ops.trading_mode), ops.edge_realised(timestamptz, ops.trading_mode),
                          ops.fit_min_edge(timestamptz, ops.trading_mode) to milkbot_operator;
-- fills over REST and the feed's fast path (db/functions/ops/user_feed.sql)
grant execute on function ops.record_rest_fills(ops.trading_mode, jsonb), ops.record_user_feed(jsonb, timestamptz) to milkbot_executor;
-- paper mode: the paper exchange's fills follow the recorded book and trade tape (db/functions/ops/paper.sql)
grant execute on function ops.paper_submit(text, timestamptz), ops.paper_match(timestamptz) to milkbot_executor;
grant select on ops.paper_queue to milkbot_executor, milkbot_operator;
grant select on ops.fill_cursor to milkbot_executor, milkbot_operator;
grant execute on function ops.paper_book(text, timestamptz, timestamptz) to milkbot_operator;
grant execute on function ops.taker_fee(numeric, numeric, numeric) to milkbot_executor;
grant execute on function ops.refresh_positions(timestamptz), ops.report_exchange_positions(timestamptz, ops.trading_mode, jsonb, text[]) to milkbot_executor;
-- what happens to an order now is decided by these (db/functions/ops/executor.sql); the executor follows
grant execute on function ops.claim_intent(bigint, ops.trading_mode, timestamptz),
                          ops.record_submit(bigint, integer, boolean, text, numeric, numeric, text, text, timestamptz),
                          ops.orders_to_cancel(timestamptz, ops.trading_mode, jsonb), ops.decreases_to_send(ops.trading_mode),
                          ops.apply_exchange_listing(timestamptz, ops.trading_mode, jsonb, text),
                          ops.sync_fills_into_orders(), ops.executor_param(text),
                          ops.record_cancel(bigint, integer, text, text), ops.mark_decrease_sent(bigint, timestamptz),
                          ops.note_order_error(bigint, text), ops.fills_since(ops.trading_mode), ops.executor_started(ops.trading_mode),
                          ops.record_decrease(bigint, numeric, numeric, text) to milkbot_executor;
grant select on ops.fill_orders to milkbot_executor, milkbot_operator;

-- dbt (milkbot_analytics) builds the metric views of api too, and grants web_anon SELECT on them itself.
grant usage, create on schema api to milkbot_analytics;
grant select on all tables in schema analytics to milkbot_analytics;
grant execute on function ops.heartbeat(text, boolean, text) to milkbot_analytics;

-- The operator works in SQL: the read-only functions (the model, probabilities, fees, climate day,
-- gates, exposure and equity helpers) are theirs to call. None of these writes (all immutable or
-- stable; tests/test_privileges.py checks that); the writing ones (run_cycle, refresh_positions,
-- heartbeat, ...) stay with the workers.
grant execute on function
    ops.climate_date(timestamptz, interval), ops.climate_day_start(date, interval), ops.trading_day_start(timestamptz),
    ops.norm_cdf(double precision),
    ops.bracket_probability(double precision, double precision, numeric, numeric, text, numeric, integer),
    ops.student_t_cdf(double precision, integer), ops.model_cdf(double precision, double precision, integer),
    ops.forecasts_at(timestamptz, text, timestamptz, text[]), ops.model_inputs(timestamptz, timestamptz, text[]), ops.truths_at(timestamptz, date), ops.settlement_values(timestamptz, date),
    ops.forecast_scores(double precision, double precision, integer, text, integer, integer), ops.rules_template(text),
    ops.yes_lo(text, numeric, numeric), ops.yes_hi(text, numeric, numeric), ops.yes_interval(text, numeric, numeric),
    ops.ln_gamma(double precision), ops.gamma_q(double precision, double precision),
    ops.monthly_exceed(double precision, double precision, double precision, double precision),
    ops.monthly_market_p(text, numeric, numeric, numeric, numeric, double precision, double precision, double precision),
    ops.monthly_model(timestamptz, timestamptz),
    ops.taker_fee(numeric, numeric, numeric), ops.maker_fee(numeric, numeric, text, numeric),
    ops.fee_per_contract(numeric, numeric), ops.kelly_contracts(numeric, numeric, numeric, numeric, numeric),
    ops.ladder_kelly(double precision[], numeric[], numeric[], numeric),
    ops.on_price_grid(numeric, jsonb), ops.in_weekly_maintenance(timestamptz),
    ops.verdict(boolean, text), ops.gate_spread(numeric, numeric, numeric),
    ops.gate_liquidity(numeric, numeric, numeric, numeric, numeric, numeric), ops.gate_edge(numeric, numeric),
    ops.gate_staleness(timestamptz, timestamptz, timestamptz, numeric, numeric),
    ops.gate_timing(timestamptz, timestamptz, timestamptz, numeric, boolean, boolean, timestamptz, numeric),
    ops.gate_sanity(numeric, numeric, jsonb, numeric), ops.effective_params(timestamptz),
    ops.gate_world(numeric, numeric, numeric, double precision, numeric, numeric),
    ops.ledger_holdings(timestamptz, ops.trading_mode), ops.working_orders(timestamptz, ops.trading_mode),
    ops.market_payoffs(timestamptz, ops.trading_mode, boolean, bigint[]), ops.market_payoffs(timestamptz, ops.trading_mode, boolean, bigint[], text[]),
    ops.event_outcomes(timestamptz, ops.trading_mode, boolean, bigint[]), ops.event_outcomes(timestamptz, ops.trading_mode, boolean, bigint[], text[]),
    ops.event_worst_case_loss(timestamptz, ops.trading_mode, boolean), ops.unmapped_exposure(timestamptz, ops.trading_mode),
    ops.equity_at(timestamptz, ops.trading_mode), ops.evaluate_markets(timestamptz, timestamptz, text[]),
    ops.control_at(anyelement, timestamptz), ops.exchange_status_at(timestamptz),
    ops.markets_at(timestamptz, timestamptz), ops.replay_cycle(timestamptz),
    ops.orders_to_cancel(timestamptz, ops.trading_mode, jsonb), ops.decreases_to_send(ops.trading_mode),
    ops.executor_param(text), ops.submit_outcome(integer, boolean), ops.fills_since(ops.trading_mode)
  to milkbot_operator;

-- dbt's data test compares the equity curve with the live definition of equity (read-only functions).
grant execute on function ops.equity_at(timestamptz, ops.trading_mode), ops.ledger_holdings(timestamptz, ops.trading_mode),
                          ops.taker_fee(numeric, numeric, numeric) to milkbot_analytics;

-- the operator publishes one book (set_by = 'operator' keeps the executor from following its own mode)
grant select on ops.public_book to milkbot_operator;
grant update (mode, set_by, changed_at) on ops.public_book to milkbot_operator;
