{# Rows for which a boolean SQL expression is false (or null) fail. #}
{% test expression_is_true(model, expression, column_name=none) %}

select *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
