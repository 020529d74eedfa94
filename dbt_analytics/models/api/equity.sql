-- Public: the equity curve, hourly, newest first.
select at, equity, drawdown from {{ ref('equity_curve') }} order by at desc limit 1000
