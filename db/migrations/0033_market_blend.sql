-- The market is part of the model (issue 24 §4): the probability a daily market is traded on is a blend
-- of the model's and the market's own (its mid, normalised over the ladder), p = w * model + (1 - w) * market,
-- with the model's weight w fitted per kind and lead by rolling origin on settled markets -- each fit sees
-- only signals decided and outcomes known by its own time, and a decision uses the newest fit made
-- before it. Until a fit has enough settled markets behind it, the model trades alone (w = 1).

create table ops.blend_fits (
    id             bigint generated always as identity primary key,
    fitted_at      timestamptz not null,
    recorded_at    timestamptz not null default clock_timestamp(),
    kind           text not null check (kind in ('high', 'low')),
    lead_days      integer not null check (lead_days between 0 and 2),
    model_weight   numeric(4,3) not null check (model_weight between 0 and 1),
    in_force       boolean not null,
    markets        integer not null,
    days           integer not null,
    signals        integer not null,
    brier_model    numeric(8,6),
    brier_market   numeric(8,6),
    brier_blend    numeric(8,6),
    note           text not null
);
create index blend_fits_at_idx on ops.blend_fits (kind, lead_days, fitted_at desc);
comment on table ops.blend_fits is 'Every fit of the model''s weight in the traded probability (model blended with the market''s normalised mid), per kind and lead, by rolling origin.';
comment on column ops.blend_fits.id is 'Fit.';
comment on column ops.blend_fits.fitted_at is 'The time it was fitted as of: only signals decided and settlements known by then were used; decisions from then on use it.';
comment on column ops.blend_fits.recorded_at is 'When the row was written (a replay as known at a time ignores later fits).';
comment on column ops.blend_fits.kind is 'Daily high or low.';
comment on column ops.blend_fits.lead_days is 'Climate day minus the decision''s climate day: 0 (the day itself), 1 (the day before), 2 (two or more).';
comment on column ops.blend_fits.model_weight is 'w in p = w * model + (1 - w) * market minimising the Brier score on the fit''s data (grid of 0.05).';
comment on column ops.blend_fits.in_force is 'Enough settled markets and days behind it (blend_min_markets, blend_min_days); otherwise w = 1 applies.';
comment on column ops.blend_fits.markets is 'Settled markets scored.';
comment on column ops.blend_fits.days is 'Distinct climate days scored.';
comment on column ops.blend_fits.signals is 'Signals scored (several decisions per market).';
comment on column ops.blend_fits.brier_model is 'Brier of the model alone on the same signals.';
comment on column ops.blend_fits.brier_market is 'Brier of the market alone.';
comment on column ops.blend_fits.brier_blend is 'Brier of the fitted blend.';
comment on column ops.blend_fits.note is 'The fit in words.';

insert into ops.strategy_params (strategy, name, value, min_value, max_value, description) values
    ('all', 'blend_min_markets', 60, 1, 100000, 'A market blend fit is used only with at least this many settled markets behind it (per kind and lead).'),
    ('all', 'blend_min_days', 10, 1, 10000, 'A market blend fit is used only with at least this many distinct climate days behind it.'),
    ('all', 'blend_window_days', 90, 1, 3650, 'A market blend fit scores the signals of this many days before it.');
