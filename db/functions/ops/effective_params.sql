-- Parameters as the cycle sees them: a strategy's own row overrides the 'all' default.
create or replace function ops.effective_params(p_known_at timestamptz default 'infinity')
returns table (strategy ops.strategy, max_spread numeric, min_size numeric, min_open_interest numeric,
               min_volume numeric, min_edge numeric, max_weather_age_min numeric, max_quote_age_min numeric,
               close_buffer_min numeric, kelly_fraction numeric, max_p numeric, cycle_window_min numeric)
language sql stable parallel safe
begin atomic
    -- the table as it stood, read once (as the inner side of the lateral join it ran once per strategy)
    with rows_then as materialized (select * from ops.control_at(null::ops.strategy_params, p_known_at))
    select s.strategy,
           max(p.value) filter (where p.name = 'max_spread'),
           max(p.value) filter (where p.name = 'min_size'),
           max(p.value) filter (where p.name = 'min_open_interest'),
           max(p.value) filter (where p.name = 'min_volume'),
           max(p.value) filter (where p.name = 'min_edge'),
           max(p.value) filter (where p.name = 'max_weather_age_min'),
           max(p.value) filter (where p.name = 'max_quote_age_min'),
           max(p.value) filter (where p.name = 'close_buffer_min'),
           max(p.value) filter (where p.name = 'kelly_fraction'),
           max(p.value) filter (where p.name = 'max_p'),
           max(p.value) filter (where p.name = 'cycle_window_min')
      from unnest(enum_range(null::ops.strategy)) s(strategy)
      cross join lateral (
            select distinct on (sp.name) sp.name, sp.value
              from rows_then sp
             where sp.strategy in (s.strategy::text, 'all')
             order by sp.name, sp.strategy = 'all') p
     group by s.strategy;
end;
comment on function ops.effective_params(timestamptz) is 'One row per strategy with every parameter resolved (strategy row over the ''all'' default), as they stood at p_known_at (default: now).';
