{# 'YYYY-Qn' for the quarter a date falls in: how every mart and report labels a quarter. #}
{% macro quarter_label(date_expr) %}
    cast(extract(year from {{ date_expr }}) as string)
    || '-Q' || cast(extract(quarter from {{ date_expr }}) as string)
{% endmacro %}
