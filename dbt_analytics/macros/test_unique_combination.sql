{# Generic test: the given columns form a unique key (no dbt_utils: packages are not fetched here). #}
{% test unique_combination(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n
  from {{ model }}
 group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
