-- A per-event cycle models only its events' cities (issue 25 §3, the cycle's speed): ops.forecasts_at and
-- ops.model_inputs take the cities (p_cities, null: every one). The old signatures go; the new ones are
-- in db/functions/ops/model_inputs.sql (callers with the old arguments are unchanged).
drop function if exists ops.model_inputs(timestamptz, timestamptz);
drop function if exists ops.forecasts_at(timestamptz, text, timestamptz);
