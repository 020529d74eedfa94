{# The metric columns city_metrics and strategy_metrics share (one definition of hit rate, Brier, P&L). #}
{% macro metric_columns() -%}
       sum(signals) as signals, sum(orders) as orders, sum(fills) as fills, sum(contracts) as contracts,
       sum(fees) as fees, sum(realised_pnl) as realised_pnl, sum(marked_pnl) as marked_pnl,
       sum(realised_pnl) + sum(marked_pnl) - sum(fees) as net_pnl,
       round(sum(winning_contracts) / nullif(sum(contracts) filter (where is_settled), 0), 4) as hit_rate,
       round(avg(brier), 6) as brier,
       count(*) filter (where is_settled) as settled_markets
{%- endmacro %}
