{#
    No row of `model` breaks a row rule of the raw contract `input_name` (var
    telemetry_row_rules: the ranges and cross-column pairs the validated
    models flag). The rules are read from their one declaration, so this test
    can never disagree with the quarantine about what a valid row is.
#}
{% test satisfies_row_rules(model, input_name) %}

{%- set conditions = [] -%}
{%- for reason, rule_conditions in task_watts.contract_rule_conditions(input_name, 'checked').items() -%}
    {%- do conditions.extend(rule_conditions) -%}
{%- endfor %}

select *
from {{ model }} as checked
where {{ task_watts.any_of(conditions) }}

{% endtest %}
