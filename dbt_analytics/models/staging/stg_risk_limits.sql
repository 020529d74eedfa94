select name, value from {{ source('ops', 'risk_limits') }}
