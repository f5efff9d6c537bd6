{# An interval of a column's (or literal's) worth of whole hours, on any engine. #}
{% macro interval_hours(hours_expr) %}
    {{ return(adapter.dispatch('interval_hours', 'task_watts')(hours_expr)) }}
{% endmacro %}

{% macro default__interval_hours(hours_expr) %}
    cast({{ hours_expr }} as integer) * interval '1 hour'
{% endmacro %}

{% macro duckdb__interval_hours(hours_expr) %}
    to_hours(cast({{ hours_expr }} as bigint))
{% endmacro %}
