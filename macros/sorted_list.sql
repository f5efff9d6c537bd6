{#
    The values of `column` in a group, sorted, joined by `delimiter` (a SQL string literal).
    dbt-spark's listagg ignores the order (Spark's collect_list keeps no order), so on Spark
    the collected list is sorted before it is joined.
#}
{% macro sorted_list(column, delimiter) %}
    {{ return(adapter.dispatch('sorted_list', 'task_watts')(column, delimiter)) }}
{% endmacro %}

{% macro default__sorted_list(column, delimiter) %}
    {{ dbt.listagg(column, delimiter, 'order by ' ~ column) }}
{%- endmacro %}

{% macro spark__sorted_list(column, delimiter) %}
    array_join(array_sort(collect_list({{ column }})), {{ delimiter }})
{%- endmacro %}
