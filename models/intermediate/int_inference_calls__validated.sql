{{ config(materialized='ephemeral') }}
{#
    Every staged call of the current load with the outcome of each row-level
    rule (one flag per quarantine reason). Rows failing any rejecting rule go
    to the quarantine instead of the footprint; a call without a task_id is
    only flagged (no_task): it is priced as unattributed energy. Of several
    copies of one call_id that pass the rules, the first by (batch day, start,
    content) is kept: the same winner whatever the file order.
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

{{ task_watts.row_verdict('inference_calls', rejecting_flags, 'is_duplicate_call') }}

select * from final
