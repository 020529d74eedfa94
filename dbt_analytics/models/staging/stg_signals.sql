select id as signal_id, as_of, ticker, strategy::text as strategy, model_p, decision from {{ source('ops', 'signals') }}
