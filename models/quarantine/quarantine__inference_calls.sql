{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.clear_current_batch() }}",
    )
}}
{#
    Inference-call rows that broke a row-level rule: one row per (raw row,
    reason), with the row as it arrived (typed). is_rejected is true when the
    row is kept out of the footprint; a call without a task_id (no_task) is
    listed with is_rejected = false: its energy stays in the footprint as
    unattributed (has_task = false). For every batch, accepted rows plus
    rejected raw rows equal the raw rows (the reconciles_with_quarantine test on the staged rows).
#}

with

checked_calls as (

    select * from {{ ref('int_inference_calls__checked') }}

),

accepted_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

{%- set rules = task_watts.quarantine_rules('inference_calls', [
        ('bad_timestamp', 'is_bad_timestamp'),
        ('unknown_model', 'is_unknown_model'),
        ('unknown_region', 'is_unknown_region'),
        ('unknown_status', 'is_unknown_status'),
        ('duplicate_call', 'is_duplicate_call'),
        ('no_task', 'is_no_task'),
    ]) %}
{{ task_watts.quarantine_reasons('checked_calls', 'accepted_calls', 'is_duplicate_call', rules) }}

final as (

    select
        reasons.batch_date,
        reasons.source_file,
        {{ task_watts.source_row_id('reasons.source_file', 'reasons.source_row_number') }} as source_row_id,
        reasons.reason,
        reasons.is_rejected,
        {{ task_watts.contract_columns('inference_calls', 'reasons') }}

    from reasons

)

select * from final
