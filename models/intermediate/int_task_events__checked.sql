{{ config(materialized='ephemeral') }}
{#
    Every staged task event of the current load with the outcome of each
    row-local rule (one flag per quarantine reason) and passes_row_rules: true
    when no rejecting flag is set. De-duplication, which compares rows with
    each other, comes after (int_task_events__validated).
#}

with

task_events as (

    select * from {{ ref('stg_telemetry__task_events') }}

),

feature_catalogue as (

    select distinct feature from {{ ref('feature_catalogue') }}

),

pseudonyms as (

    select * from {{ ref('stg_telemetry__task_event_pseudonyms') }}

),

{%- set rules = task_watts.contract_rule_conditions('task_events', 'task_events') %}
{%- set timestamp_rules = rules.pop('bad_timestamp', []) + [
    task_watts.is_bad_timestamp('task_events.event_at', 'task_events.batch_date') | trim,
] %}
{%- set rejecting_flags = ['is_bad_timestamp', 'is_unknown_event_type', 'is_unknown_feature', 'is_missing_task_id'] %}
{%- for reason in rules %}{% do rejecting_flags.append('is_' ~ reason) %}{% endfor %}

checked as (

    select
        task_events.*,
        {{ task_watts.any_of(timestamp_rules) }} as is_bad_timestamp,
        {% for reason, conditions in rules.items() -%}
            {{ task_watts.any_of(conditions) }} as is_{{ reason }},
        {% endfor -%}
        task_events.event_type not in (
            {{ task_watts.quoted_list(var('event_types')) }}
        ) as is_unknown_event_type,
        feature_catalogue.feature is null as is_unknown_feature,
        {{- task_watts.pseudonym_columns('task_events') }}
        task_events.task_id is null as is_missing_task_id

    from task_events
    left join feature_catalogue
        on task_events.feature = feature_catalogue.feature
    {{- task_watts.pseudonym_joins('task_events', 'task_events', 'pseudonyms') }}

),

final as (

    select
        checked.*,
        not {{ task_watts.any_of(rejecting_flags) }} as passes_row_rules
    from checked

)

select * from final
