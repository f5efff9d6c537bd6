{#
    Whole microseconds or milliseconds from `start` to `end`, counted as DuckDB's date_diff
    counts them (each timestamp truncated to the unit, then subtracted), in parentheses so it
    can be divided. dbt-spark's datediff reads sub-second parts out of the timestamps' text
    and returns NULL for a timestamp without a fraction; Spark's unix_micros and unix_millis
    are exact.
#}
{% macro timestamp_diff(unit, start, end) %}
    {{ return(adapter.dispatch('timestamp_diff', 'task_watts')(unit, start, end)) }}
{% endmacro %}

{% macro default__timestamp_diff(unit, start, end) %}
    ({{ dbt.datediff(start, end, unit) }})
{%- endmacro %}

{% macro spark__timestamp_diff(unit, start, end) %}
    {%- set function = {'microsecond': 'unix_micros', 'millisecond': 'unix_millis'}[unit] -%}
    ({{ function }}({{ end }}) - {{ function }}({{ start }}))
{%- endmacro %}
