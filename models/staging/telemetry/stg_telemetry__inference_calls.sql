{{ config(materialized='ephemeral') }}
{#
    The inference calls of the current load, typed to the input contract: one
    day's partition in a daily load (TASK_WATTS_BATCH_DATE), every file otherwise.
    Nothing is filtered here: row-level checks route rows to the accepted calls
    or to the quarantine downstream, and the file and row number each row
    carries let the two be reconciled with the raw files row for row. Timestamps may be ISO text (an
    offset converts to UTC, naive is UTC) or epoch s/ms/us/ns; ids lose any
    surrounding whitespace, and a blank id is no id.
#}

{%- set telemetry = read_telemetry(
    source('telemetry', 'inference_calls'),
    optional_columns=task_watts.contract_optional_columns('inference_calls'),
    batched=true,
) %}

with

source as (

    select * from {{ telemetry }}

),

{{ task_watts.staged_contract_rows('inference_calls', task_watts.telemetry_column_types(telemetry)) }}

select * from final
