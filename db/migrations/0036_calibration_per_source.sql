-- One forecast product per calibration cell (issue 24 §1). The NWS products the model reads (the 12-hour
-- periods, the gridpoint series, the hourly forecast) carry different biases for the same city — ~2.4 °F
-- between two of them at LAX — so a fit pooled over products corrects each by the wrong amount whenever
-- the city's source changes. A fit is now per city x kind x lead x source: ops.fit_calibration fits each
-- source on the pairs decided with it, and the model reads the fit of the source it is using.
-- source null: a fit for any source — the seeded priors, and the fits made before this migration (each
-- was pooled over whatever sources its pairs had); the model falls back to them only where its source has
-- no fit of its own.

drop view if exists ops.v_calibration;   -- re-created with a source column (db/views/ops/v_calibration.sql)
alter table ops.model_calibration add column source ops.forecast_source;
alter table ops.model_calibration drop constraint model_calibration_pkey;
alter table ops.model_calibration
    add constraint model_calibration_key unique nulls not distinct (city_code, kind, lead_days, source, known_at);
create index model_calibration_cell_idx on ops.model_calibration (city_code, kind, lead_days, known_at desc);
comment on column ops.model_calibration.source is 'The forecast product this fit is for (its pairs were decided on it); null: any product (the seeded priors and fits made before fits were per source) — used only where the product has no fit of its own.';
comment on table ops.model_calibration is 'Forecast error model per city x kind x lead x forecast source, one row per fit, versioned by known_at: settlement ~ forecast + bias + sigma * e, e normal or Student-t (unit variance). The seeded priors (source null: any) carry known_at 2000-01-01.';
