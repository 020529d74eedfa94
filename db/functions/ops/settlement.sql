-- Settlement truth. Kalshi's markets say they settle "according to The Weather Company", not the NWS
-- report: once a market has settled, its expiration_value is the truth; before that the CLI final is.

-- Every settled daily value known at p_as_of, one row per source: Kalshi's expiration_value (per event:
-- all its brackets carry the same value) and the newest CLI final.
create or replace function ops.settlement_values(p_as_of timestamptz, p_since date default '-infinity')
returns table (city_code text, climate_date date, kind text, value_f integer, source text, known_at timestamptz)
language sql stable
-- no search_path setting: it would stop the planner inlining this into its callers (the calibration fit
-- calls it at every re-fit); the SQL-standard body is bound when created, whatever the caller's path
begin atomic
    (select distinct on (m.city_code, m.climate_date, m.kind)
            m.city_code, m.climate_date, m.kind::text, round(m.expiration_value::numeric)::int, 'kalshi', m.expiration_value_at
       from ops.markets m
      where m.kind in ('high', 'low') and m.expiration_value ~ '^-?[0-9]+(\.[0-9]+)?$'
        and m.expiration_value_at <= p_as_of and m.climate_date > p_since
      order by m.city_code, m.climate_date, m.kind, m.expiration_value_at)
    union all
    (select distinct on (r.city_code, r.climate_date, k.kind) r.city_code, r.climate_date, k.kind, k.value_f, 'cli', r.issued_at
       from ops.climate_reports r
      cross join lateral (values ('high', r.max_f), ('low', r.min_f)) k(kind, value_f)
      where r.is_final and r.issued_at <= p_as_of and r.climate_date > p_since and k.value_f is not null
      order by r.city_code, r.climate_date, k.kind, r.issued_at desc);
end;
comment on function ops.settlement_values(timestamptz, date) is 'Settled daily values known at p_as_of, one row per source (kalshi: expiration_value; cli: the newest CLI final).';

create or replace function ops.truths_at(p_as_of timestamptz, p_since date default '-infinity')
returns table (city_code text, climate_date date, kind text, value_f integer, source text, known_at timestamptz)
language sql stable
-- inlined into its callers, like ops.settlement_values (no search_path setting: the body is bound)
begin atomic
    select distinct on (v.city_code, v.climate_date, v.kind) v.*
      from ops.settlement_values(p_as_of, p_since) v
     order by v.city_code, v.climate_date, v.kind, v.source = 'kalshi' desc;
end;
comment on function ops.truths_at(timestamptz, date) is 'Settled daily values known at p_as_of: Kalshi''s expiration_value where a market has settled, else the newest CLI final.';

-- A settled value that differs from the CLI final (or a CLI final that differs from a settled value)
-- is a risk event: the model is calibrated on one of them and the money settles on the other.
-- PL/pgSQL: its plan is cached for the session (a SQL body was planned at every call -- once per CLI
-- final loaded: 0.4 ms each, 1.2 s of a backtest's 1.9 s load).
create or replace function ops.flag_settlement_disagreement(p_city text, p_date date)
returns void
language plpgsql volatile
set search_path = pg_catalog, ops
as $fn$
begin
    insert into ops.risk_events (at, kind, severity, city_code, detail, message)
    select now(), 'settlement_disagreement', 'warning', k.city_code,
           jsonb_build_object('climate_date', k.climate_date, 'kind', k.kind, 'kalshi', k.value_f, 'cli', c.value_f,
                              'key', format('%s/%s/%s/%s/%s', k.city_code, k.climate_date, k.kind, k.value_f, c.value_f)),
           format('%s %s %s: Kalshi settled on %s °F, the NWS CLI final says %s °F', k.city_code, k.kind, k.climate_date, k.value_f, c.value_f)
      -- the two sources of ops.settlement_values for this one city and day (that function is not inlined:
      -- called per inserted report it read every value since the day, a few ms each, seconds for a backtest)
      from (select distinct on (m.kind) m.city_code, m.climate_date, m.kind::text as kind,
                   round(m.expiration_value::numeric)::int as value_f
              from ops.markets m
             where m.city_code = p_city and m.climate_date = p_date and m.kind in ('high', 'low')
               and m.expiration_value ~ '^-?[0-9]+(\.[0-9]+)?$'
             order by m.kind, m.expiration_value_at) k
      join (select distinct on (x.kind) x.kind, x.value_f
              from ops.climate_reports r
             cross join lateral (values ('high', r.max_f), ('low', r.min_f)) x(kind, value_f)
             where r.city_code = p_city and r.climate_date = p_date and r.is_final and x.value_f is not null
             order by x.kind, r.issued_at desc) c on c.kind = k.kind
     where c.value_f <> k.value_f
       and not exists (select 1 from ops.risk_events e
                        where e.kind = 'settlement_disagreement'
                          and e.detail->>'key' = format('%s/%s/%s/%s/%s', k.city_code, k.climate_date, k.kind, k.value_f, c.value_f));
end
$fn$;
comment on function ops.flag_settlement_disagreement(text, date) is 'Raise a settlement_disagreement risk event (once) when Kalshi''s expiration_value and the CLI final differ for a city and day.';

create or replace function ops.on_settlement_value() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    -- ingest stamps it with its own clock; this only covers a value set by hand in SQL
    if coalesce(new.expiration_value, '') <> '' then
        new.expiration_value_at := coalesce(new.expiration_value_at, now());
    end if;
    return new;
end
$$;
comment on function ops.on_settlement_value() is 'Stamps when an expiration_value was first seen (its known time).';

create or replace function ops.after_settlement_value() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
begin
    perform ops.flag_settlement_disagreement(new.city_code, new.climate_date);
    return null;
end
$$;
comment on function ops.after_settlement_value() is 'After a settled value or a CLI final lands: compare the two sources.';

drop trigger if exists markets_settlement_value on ops.markets;
create trigger markets_settlement_value before insert or update of expiration_value on ops.markets
    for each row execute function ops.on_settlement_value();
drop trigger if exists markets_settlement_check on ops.markets;
create trigger markets_settlement_check after insert or update of expiration_value on ops.markets
    for each row when (coalesce(new.expiration_value, '') <> '') execute function ops.after_settlement_value();
drop trigger if exists climate_reports_settlement_check on ops.climate_reports;
create trigger climate_reports_settlement_check after insert on ops.climate_reports
    for each row when (new.is_final) execute function ops.after_settlement_value();

-- Rules: what a series settles on is in rules_primary. The wording with the market's own date and strike
-- masked must not change; if it does (a new source, a new station), an operator must read it.
create or replace function ops.rules_template(p_rules text)
returns text
language sql immutable parallel safe
return regexp_replace(
         regexp_replace(p_rules, '\m(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* [0-9]{1,2}, [0-9]{4}', '<date>', 'g'),
         '\m(greater than|less than|between|above|below|at least|at most)\s+-?[0-9.]+(-[0-9.]+)?°( or (above|below|higher|lower))?', '<strike>°', 'g');
comment on function ops.rules_template(text) is 'rules_primary with the market''s own date and strike masked, so one series'' markets share one template.';

create or replace function ops.on_market_rules() returns trigger
language plpgsql security definer set search_path = pg_catalog, ops as $$
declare
    v_template text := ops.rules_template(new.rules_primary);
    v_old text;
begin
    if new.rules_primary is null then
        return null;
    end if;
    select rules_template into v_old from ops.series_rules where series_ticker = new.series_ticker;
    if v_old is null then
        insert into ops.series_rules (series_ticker, rules_template, seen_at) values (new.series_ticker, v_template, now())
        on conflict (series_ticker) do nothing;
    elsif v_old <> v_template then
        update ops.series_rules set rules_template = v_template, seen_at = now() where series_ticker = new.series_ticker;
        insert into ops.risk_events (at, kind, severity, city_code, ticker, detail, message)
        values (now(), 'settlement_rules_changed', 'critical', new.city_code, new.ticker,
                jsonb_build_object('series', new.series_ticker, 'was', v_old, 'now', v_template),
                format('%s: the settlement rules changed wording — read them before trading: %s', new.series_ticker, new.rules_primary));
    end if;
    return null;
end
$$;
comment on function ops.on_market_rules() is 'Raise a critical settlement_rules_changed risk event when a series'' rules_primary wording (date and strike masked) changes.';

drop trigger if exists markets_rules_check on ops.markets;
create trigger markets_rules_check after insert or update of rules_primary on ops.markets
    for each row when (new.rules_primary is not null) execute function ops.on_market_rules();
