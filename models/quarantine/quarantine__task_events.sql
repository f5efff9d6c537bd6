{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.clear_current_batch() }}",
    )
}}
{#
    Task-event rows that broke a row-level rule, one row per (raw row, reason),
    kept out of the task roll-up. The user id is only present hashed.
#}

with

checked_events as (

    select * from {{ ref('int_task_events__checked') }}

),

accepted_events as (

    select * from {{ ref('int_task_events__accepted') }}

),

{%- set rules = task_watts.quarantine_rules('task_events', [
        ('bad_timestamp', 'is_bad_timestamp'),
        ('unknown_event_type', 'is_unknown_event_type'),
        ('unknown_feature', 'is_unknown_feature'),
        ('missing_task_id', 'is_missing_task_id'),
        ('duplicate_event', 'is_duplicate_event'),
    ]) %}
{{ task_watts.quarantine_reasons('checked_events', 'accepted_events', 'is_duplicate_event', rules) }}

final as (

    select
        reasons.batch_date,
        reasons.source_file,
        {{ task_watts.source_row_id('reasons.source_file', 'reasons.source_row_number') }} as source_row_id,
        reasons.reason,
        reasons.is_rejected,
        {{ task_watts.contract_columns('task_events', 'reasons') }}

    from reasons

)

select * from final
