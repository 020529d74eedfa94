-- "Why?" for one market, in plain words, from what the cycle recorded (issue 28 §3): the newest signal at
-- or before p_at (its gates, the model's inputs, the sizing bounds and the one that bound the size), then
-- the orders and fills since. Reads only the recorded facts, so it says what the cycle knew then, not
-- what is known now; `milkbot explain TICKER [--at TIME]` prints it.
create or replace function ops.explain(p_ticker text, p_at timestamptz default null)
returns setof text
language plpgsql stable
set search_path = pg_catalog, ops
as $fn$
declare
    v_words  text;
    s        ops.signals;
    z        jsonb;
    g        record;
    o        record;
    f        record;
    v_buy    text;
    v_cents  numeric;
    v_lines  int := 0;
begin
    select w.words into v_words from analytics.v_market_words w where w.ticker = p_ticker;
    if v_words is null then
        raise exception 'no market %', p_ticker using errcode = 'no_data_found',
              hint = 'a ticker as Kalshi lists it, e.g. KXHIGHNY-26DEC07-B45.5';
    end if;
    select * into s from ops.signals x
     where x.ticker = p_ticker and x.as_of <= coalesce(p_at, 'infinity')
     order by x.as_of desc, x.id desc limit 1;
    if not found then
        return next format('%s (%s): no cycle has evaluated it%s.', v_words, p_ticker,
                           case when p_at is not null then ' by ' || ops.utc_words(p_at) else '' end);
        return;
    end if;

    -- what was decided, and the edge it was decided on
    return next format('%s (%s), as the cycle of %s saw it:', v_words, p_ticker, ops.utc_words(s.as_of));
    if s.decision = 'trade' then
        v_buy := case s.side when 'bid' then 'YES' else 'NO' end;
        v_cents := round(100 * case s.side when 'bid' then s.price else 1 - s.price end);
        return next format('  Bought %s %s at %s¢ because the %s gave YES %s and %s cost %s¢: an edge of %s¢ a contract after the fee.',
                           trim_scale(s.size), v_buy, v_cents,
                           case when coalesce((s.gates->'blend'->>'model_weight')::numeric, 1) < 1
                                then format('blend of model and market (%s%% model)', round(100 * (s.gates->'blend'->>'model_weight')::numeric))
                                else 'model' end,
                           ops.pct_words(s.model_p), v_buy, v_cents, round(100 * s.edge, 1));
    else
        return next format('  Did not trade: %s.', s.reason);
    end if;

    -- the model's inputs and the market's view
    z := s.gates->'model';
    if z is not null and z->>'mu' is not null then
        return next format('  Model: %s; forecast from %s, centre %s °F, spread (σ) %s °F%s.',
                           coalesce(z->>'note', 'no note'), coalesce(z->>'source', 'unknown source'), z->>'mu', z->>'sigma',
                           case when z->>'observed' is not null then format(', observed so far %s °F', z->>'observed') else '' end);
    end if;
    if z is not null and z->>'mean_in' is not null then   -- a Monthly threshold: the month so far and to come
        return next format('  Model (Monthly): %s; to come: %s in expected, no more at all with chance %s.',
                           z->>'note', round((z->>'mean_in')::numeric, 2), ops.pct_words(round((z->>'p_dry')::numeric, 4)));
    end if;
    if s.gates->'world'->>'market_p' is not null then
        return next format('  The market (mid of bid %s¢ and ask %s¢, over the ladder) said %s; the model %s.',
                           round(100 * s.yes_bid), round(100 * s.yes_ask),
                           ops.pct_words((s.gates->'world'->>'market_p')::numeric),
                           ops.pct_words(coalesce((s.gates->'blend'->>'model_p')::numeric, s.model_p)));
    end if;
    if coalesce((s.gates->'blend'->>'model_weight')::numeric, 1) < 1 then
        return next format('  Traded on %s: %s%% the model and %s%% the market, the weight fitted on settled markets before this decision (fit %s).',
                           ops.pct_words(s.model_p), round(100 * (s.gates->'blend'->>'model_weight')::numeric),
                           100 - round(100 * (s.gates->'blend'->>'model_weight')::numeric), s.gates->'blend'->>'fit_id');
    end if;

    -- every gate's verdict, in the order the cycle applies them
    return next '  Gates:';
    for g in select k.key, k.ord, (s.gates->k.key->>'pass')::boolean as pass, s.gates->k.key->>'reason' as reason
               from unnest(array['strategy', 'timing', 'staleness', 'spread', 'liquidity', 'sanity', 'world', 'edge'])
                    with ordinality k(key, ord)
              where s.gates ? k.key order by k.ord loop
        return next format('    %s %s: %s', case when g.pass then 'pass' else 'FAIL' end, g.key, g.reason);
    end loop;

    -- the size and the bound that decided it
    z := s.sizing;
    if z is not null then
        return next format('  Size: Kelly asked for %s contracts in all (%s Kelly on equity $%s); %s were already held or working here.',
                           z->>'kelly', ops.pct_words((z->>'kelly_fraction')::numeric), z->>'equity', z->>'committed');
        return next '  ' || case z->>'bound'
            when 'kelly' then format('Kelly was the binding bound: the limits allowed more (per-market cap %s contracts, %s cluster room $%s, total room $%s).',
                                     z->>'max_contracts', z->>'cluster', z->>'cluster_left', z->>'total_left')
            when 'max_contracts' then format('Not more because of the per-market cap of %s contracts (%s already committed).',
                                             z->>'max_contracts', z->>'committed')
            when 'event' then format('Not more because this day''s ladder may lose at most $%s in its worst outcome (%s contracts fit).',
                                     z->>'max_event_loss', z->>'event_contracts')
            when 'book' then format('Not more because only %s contracts were offered at that price.', z->>'book')
            when 'cluster' then format('Not more because of the %s cluster cap of $%s on worst-case loss: $%s was at risk there already and this cycle''s better edges took $%s, leaving $%s.',
                                       z->>'cluster', z->>'max_cluster', z->>'cluster_loss',
                                       (z->>'max_cluster')::numeric - (z->>'cluster_loss')::numeric - (z->>'cluster_left')::numeric,
                                       greatest((z->>'cluster_left')::numeric, 0))
            when 'total' then format('Not more because of the total cap of $%s on worst-case loss: $%s was at risk already and this cycle''s better edges took $%s, leaving $%s.',
                                     z->>'max_total', z->>'total_loss',
                                     (z->>'max_total')::numeric - (z->>'total_loss')::numeric - (z->>'total_left')::numeric,
                                     greatest((z->>'total_left')::numeric, 0))
            when 'reducing' then 'Trading was REDUCING: only an order that reduces exposure may be sent.'
            else 'No bound recorded.' end;
    end if;

    -- what happened since: our orders on this market from this signal on, and their fills
    for o in select x.id, x.side, x.price, x.count, x.filled_count, x.state, x.mode, x.created_at, x.time_in_force
               from ops.orders x
              where x.ticker = p_ticker and x.as_of >= s.as_of
              order by x.id loop
        v_lines := v_lines + 1;
        return next format('  Order %s (%s, %s): %s %s at %s¢ — now %s, %s filled.', o.id, o.mode, replace(o.time_in_force, '_', ' '),
                           trim_scale(o.count), case o.side when 'bid' then 'YES' else 'NO' end,
                           round(100 * case o.side when 'bid' then o.price else 1 - o.price end),
                           o.state, trim_scale(o.filled_count));
        for f in select y.count, y.yes_price, y.side, y.fee, y.created_time from ops.fills y
                  where y.order_id = o.id order by y.created_time loop
            return next format('    filled %s at %s¢ on %s (fee $%s)', trim_scale(f.count),
                               round(100 * case f.side when 'bid' then f.yes_price else 1 - f.yes_price end),
                               ops.utc_words(f.created_time), f.fee);
        end loop;
    end loop;
    if v_lines = 0 then
        return next '  No order of ours on this market since.';
    end if;
end
$fn$;
comment on function ops.explain(text, timestamptz) is 'One market''s newest recorded decision at or before p_at in plain words: what was decided, the model, each gate, the sizing bound that bound it, and our orders and fills since.';

create or replace function ops.utc_words(p_at timestamptz)
returns text
language sql immutable parallel safe
return to_char(p_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"');
comment on function ops.utc_words(timestamptz) is 'An instant as an operator reads it: 2026-12-07 14:05 UTC.';

create or replace function ops.pct_words(p numeric)
returns text
language sql immutable parallel safe
return case when p is null then 'no probability' else round(100 * p, 1) || ' %' end;
comment on function ops.pct_words(numeric) is 'A probability as a percentage with one decimal ("42.5 %").';
