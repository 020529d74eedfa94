-- Replay a past cycle exactly (issue 23 §1.10). A cycle decides on two kinds of input:
--  * observations stamped with their own time (quotes, forecasts, observations, fills, calibrations):
--    read as of the decision time p_as_of, as before;
--  * rows kept current in place (operator controls, the exchange's status, a market's status, times,
--    fees and volume): the cycle saw them as the database held them when it ran. That moment is the
--    database's clock, not p_as_of (a replay, a backtest or a test decides at a past p_as_of), so each
--    cycle records it (ops.cycles.known_at) and every change to such a row keeps the row it replaced
--    (ops.control_audit for the controls; ops.row_undo for the exchange and the markets). Reading "as
--    known at t" = the current row, with every change recorded after t undone.

create table ops.cycles (
    as_of    timestamptz primary key,
    known_at timestamptz not null,
    mode     ops.trading_mode not null,
    result   jsonb
);
comment on table ops.cycles is 'One row per decision time: when the cycle ran (database clock) and what it answered. The first run at an as_of is the one its signals record.';
comment on column ops.cycles.as_of is 'Decision time passed to ops.run_cycle.';
comment on column ops.cycles.known_at is 'Database clock when the cycle read its inputs: rows kept current in place are replayed as known then.';
comment on column ops.cycles.mode is 'Book the cycle decided for.';
comment on column ops.cycles.result is 'What ops.run_cycle returned.';

create table ops.row_undo (
    id         bigint generated always as identity primary key,
    table_name text not null check (table_name in ('exchange_status', 'markets')),
    key        text not null,
    old_row    jsonb,
    at         timestamptz not null default clock_timestamp()
);
create index row_undo_table_at_idx on ops.row_undo (table_name, at);
create index control_audit_table_at_idx on ops.control_audit (table_name, at);
comment on table ops.row_undo is 'Append-only: the row a change replaced in a table kept current in place (exchange status, markets), so a cycle can be replayed as the database knew it.';
comment on column ops.row_undo.id is 'Sequence of the change.';
comment on column ops.row_undo.table_name is 'Which table changed.';
comment on column ops.row_undo.key is 'The changed row''s key (ticker; ''singleton'' for the exchange status).';
comment on column ops.row_undo.old_row is 'The row before the change (markets: the columns a decision reads); null when the row did not exist.';
comment on column ops.row_undo.at is 'Database clock of the change.';

-- Definer rights: the ingest role writes markets and the exchange status but never the undo log itself.
-- Arguments: the key column, then the columns to keep (none = the whole row).
create function ops.record_undo() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    insert into ops.row_undo (table_name, key, old_row)
    values (tg_table_name, coalesce(to_jsonb(new), to_jsonb(old)) ->> tg_argv[0],
            case when tg_op = 'INSERT' then null
                 when tg_nargs = 1 then to_jsonb(old)
                 else (select jsonb_object_agg(e.key, e.value) from jsonb_each(to_jsonb(old)) e
                        where e.key = any(tg_argv[1:tg_nargs - 1])) end);
    return null;
end
$$;
comment on function ops.record_undo() is 'Trigger: keeps the row a change replaced (the columns named after the key) in ops.row_undo.';

create trigger undo after insert or update or delete on ops.exchange_status
    for each row execute function ops.record_undo('singleton');
-- markets: a new market is known from first_seen_at; a change is kept only when a decision reads it
create trigger undo after update on ops.markets for each row
    when ((old.status, old.open_time, old.close_time, old.strike_type, old.floor_strike, old.cap_strike, old.price_ranges,
           old.fee_multiplier, old.volume, old.open_interest)
          is distinct from
          (new.status, new.open_time, new.close_time, new.strike_type, new.floor_strike, new.cap_strike, new.price_ranges,
           new.fee_multiplier, new.volume, new.open_interest))
    execute function ops.record_undo('ticker', 'status', 'open_time', 'close_time', 'strike_type', 'floor_strike', 'cap_strike',
                                     'price_ranges', 'fee_multiplier', 'volume', 'open_interest');

-- Append-only, except that changes older than the replay window (30 days) are pruned (ops.run_cycle):
-- markets change volume every pass, and a replay needs only what came after the cycle it replays.
create function ops.forbid_undo_rewrite() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE' and old.at < clock_timestamp() - interval '30 days' then
        return old;
    end if;
    raise exception 'ops.row_undo is append-only (changes older than 30 days are pruned)' using errcode = 'insufficient_privilege';
end
$$;
comment on function ops.forbid_undo_rewrite() is 'Trigger: refuses any update, and any delete of a change younger than the 30-day replay window.';
create trigger append_only before update or delete on ops.row_undo for each row execute function ops.forbid_undo_rewrite();

-- the decision functions take the moment the inputs were known (their signatures change)
drop function if exists ops.evaluate_markets(timestamptz);
drop function if exists ops.model_inputs(timestamptz);
drop function if exists ops.forecasts_at(timestamptz, text);
drop function if exists ops.effective_params();
