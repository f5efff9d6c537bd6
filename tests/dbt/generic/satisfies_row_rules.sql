{#
    No row of `model` leaves a required contract column empty (one not marked
    nullable in the staging model's meta) or breaks a row rule of the raw
    contract `input_name` (var telemetry_row_rules: the ranges and
    cross-column pairs the validated models flag). Both are read from their
    one declaration, so this test can never disagree with the quarantine or
    the gate about what a valid row is. It stands in for NOT NULL constraints:
    staging is ephemeral, and the accepted table is the first the rows land in.
    In a daily load only the day's rows are checked (var daily_test_scope).
#}
{% test satisfies_row_rules(model, input_name) %}

{%- set conditions = [] -%}
{%- for column in task_watts.telemetry_contract(input_name).columns
    if not column.rules.get('nullable', false) and not column.rules.get('optional', false) -%}
    {%- do conditions.append('checked.' ~ column.name ~ ' is null') -%}
{%- endfor -%}
{%- for reason, rule_conditions in task_watts.contract_rule_conditions(input_name, 'checked').items() -%}
    {%- do conditions.extend(rule_conditions) -%}
{%- endfor %}

with

checked as (

    select * from {{ model }}

)

select * from checked
where {{ task_watts.any_of(conditions) }}

{% endtest %}
