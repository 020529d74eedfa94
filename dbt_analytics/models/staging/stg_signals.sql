-- Signals (the model's view and our decision) at or before the public cut-off only.
select id as signal_id, as_of, ticker, strategy::text as strategy, model_p, decision
  from {{ source('ops', 'signals') }}
 where as_of <= (select at from {{ source('analytics', 'public_cutoff') }})
