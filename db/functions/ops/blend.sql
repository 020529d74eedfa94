-- The market blend (issue 24 §4): fit the model's weight w in p = w * model + (1 - w) * market per kind and
-- lead, by rolling origin. Scored on every settled daily market's signals that had both a model and a
-- market probability: the model's own p (gates.blend.model_p, or model_p before the blend existed) and
-- the market's normalised mid recorded with it, against the outcome -- only what was known at p_as_of:
-- signals decided before it, settlements whose value was known by then. Brier on a grid of w (0, 0.05,
-- .., 1); ties go to the larger model weight. Writes one row per kind and lead; returns rows written.
create or replace function ops.fit_blend(p_as_of timestamptz)
returns integer
language plpgsql security definer
set search_path = pg_catalog, ops
as $$
declare
    n integer;
begin
    with prm as (
        select max(sp.value) filter (where sp.name = 'blend_min_markets') as min_markets,
               max(sp.value) filter (where sp.name = 'blend_min_days') as min_days,
               max(sp.value) filter (where sp.name = 'blend_window_days') as window_days
          from ops.strategy_params sp where sp.strategy = 'all'),
    obs as (
        select m.kind::text as kind, m.ticker, m.climate_date,
               least(greatest(m.climate_date - ops.climate_date(s.as_of, c.std_utc_offset), 0), 2) as lead_days,
               coalesce((s.gates->'blend'->>'model_p')::numeric, s.model_p) as model_p,
               (s.gates->'world'->>'market_p')::numeric as market_p,
               (m.result = 'yes')::int as y
          from ops.signals s
          join ops.markets m on m.ticker = s.ticker
          join ops.cities c on c.code = m.city_code
          cross join prm
         where s.strategy in ('DailyHigh', 'DailyLow')
           and s.as_of < p_as_of and s.as_of >= p_as_of - make_interval(days => prm.window_days::int)
           and m.result in ('yes', 'no') and m.expiration_value_at <= p_as_of
           and s.model_p is not null and s.gates->'world'->>'market_p' is not null),
    grid as (select g / 20.0 as w from generate_series(0, 20) g),
    scored as (
        select o.kind, o.lead_days, g.w,
               avg((g.w * o.model_p + (1 - g.w) * o.market_p - o.y) * (g.w * o.model_p + (1 - g.w) * o.market_p - o.y)) as brier
          from obs o cross join grid g
         group by o.kind, o.lead_days, g.w),
    best as (
        select distinct on (sc.kind, sc.lead_days) sc.kind, sc.lead_days, sc.w, sc.brier
          from scored sc order by sc.kind, sc.lead_days, sc.brier, sc.w desc),
    counts as (
        select o.kind, o.lead_days, count(distinct o.ticker) as markets, count(distinct o.climate_date) as days, count(*) as signals,
               avg((o.model_p - o.y) * (o.model_p - o.y)) as brier_model,
               avg((o.market_p - o.y) * (o.market_p - o.y)) as brier_market
          from obs o group by o.kind, o.lead_days),
    ins as (
        insert into ops.blend_fits (fitted_at, kind, lead_days, model_weight, in_force, markets, days, signals,
                                    brier_model, brier_market, brier_blend, note)
        select p_as_of, b.kind, b.lead_days, b.w, k.markets >= prm.min_markets and k.days >= prm.min_days,
               k.markets, k.days, k.signals, round(k.brier_model, 6), round(k.brier_market, 6), round(b.brier, 6),
               case when k.markets >= prm.min_markets and k.days >= prm.min_days
                    then format('model weight %s: Brier %s (model alone %s, market alone %s) on %s settled markets over %s days',
                                b.w, round(b.brier, 4), round(k.brier_model, 4), round(k.brier_market, 4), k.markets, k.days)
                    else format('not in force: %s settled markets over %s days (needs %s and %s); the model trades alone',
                                k.markets, k.days, prm.min_markets, prm.min_days) end
          from best b join counts k using (kind, lead_days) cross join prm
        returning 1)
    select count(*) into n from ins;
    return n;
end
$$;
comment on function ops.fit_blend(timestamptz) is 'Fit the model''s weight in the traded probability (model blended with the market''s normalised mid) per kind and lead, by rolling origin as of p_as_of; returns fits written.';

-- The model's weight for one kind and lead at a decision: the newest fit made at or before p_as_of (and
-- recorded by p_known_at); 1 when none is in force.
create or replace function ops.blend_weights_at(p_as_of timestamptz, p_known_at timestamptz default 'infinity')
returns table (kind text, lead_days integer, model_weight numeric, fit_id bigint)
-- no search_path setting: it would stop the planner inlining it into the cycle (a function call planned at
-- every cycle); the SQL-standard body is bound to its objects when created
language sql stable
begin atomic
    select distinct on (b.kind, b.lead_days) b.kind, b.lead_days,
           case when b.in_force then b.model_weight else 1 end, b.id
      from ops.blend_fits b
     where b.fitted_at <= p_as_of and b.recorded_at <= p_known_at
     order by b.kind, b.lead_days, b.fitted_at desc, b.id desc;
end;
comment on function ops.blend_weights_at(timestamptz, timestamptz) is 'Per kind and lead: the model''s weight in the traded probability as known at a decision (1 without a fit in force).';
