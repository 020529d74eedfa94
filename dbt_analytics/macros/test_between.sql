{% test between(model, column_name, low, high) %}
select * from {{ model }} where {{ column_name }} is not null and ({{ column_name }} < {{ low }} or {{ column_name }} > {{ high }})
{% endtest %}
