{{ config(materialized='ephemeral') }}
{#
    Every staged call of the current load with the outcome of each row-local
    rule (one flag per quarantine reason) and passes_row_rules: true when no
    rejecting flag is set. A call without a task_id is only flagged (no_task):
    it is priced as unattributed energy. De-duplication, which compares rows
    with each other, comes after (int_inference_calls__validated).
#}

with

calls as (

    select * from {{ ref('stg_telemetry__inference_calls') }}

),

model_energy_coefficients as (

    select distinct
        model,
        gpu_type
    from {{ ref('model_energy_coefficients') }}

),

datacenter_regions as (

    select distinct region from {{ ref('datacenter_regions') }}

),

{%- set rules = task_watts.contract_rule_conditions('inference_calls', 'calls') %}
{%- set timestamp_rules = rules.pop('bad_timestamp', []) + [
    task_watts.is_bad_timestamp('calls.started_at', 'calls.batch_date') | trim,
    task_watts.is_bad_timestamp('calls.ended_at', 'calls.batch_date') | trim,
] %}
{%- set rejecting_flags = ['is_bad_timestamp', 'is_unknown_model', 'is_unknown_region', 'is_unknown_status'] %}
{%- for reason in rules %}{% do rejecting_flags.append('is_' ~ reason) %}{% endfor %}

checked as (

    select
        calls.*,
        {{ task_watts.any_of(timestamp_rules) }} as is_bad_timestamp,
        {% for reason, conditions in rules.items() -%}
            {{ task_watts.any_of(conditions) }} as is_{{ reason }},
        {% endfor -%}
        model_energy_coefficients.model is null as is_unknown_model,
        datacenter_regions.region is null as is_unknown_region,
        calls.status not in (
            {{ task_watts.quoted_list(var('call_statuses')) }}
        ) as is_unknown_status,
        calls.task_id is null as is_no_task

    from calls
    left join model_energy_coefficients
        on
            calls.model = model_energy_coefficients.model
            and coalesce(calls.gpu_type, '') = coalesce(model_energy_coefficients.gpu_type, '')
    left join datacenter_regions
        on calls.region = datacenter_regions.region

),

final as (

    select
        checked.*,
        not {{ task_watts.any_of(rejecting_flags) }} as passes_row_rules
    from checked

)

select * from final
