{{ config(materialized='ephemeral') }}
{#
    The task events of the current load (one day's partition in a daily load,
    every file otherwise), typed, with the id of the pseudonym key. The user id
    is in clear only inside the query: the models that store events keep its
    keyed pseudonym alone (stg_telemetry__task_event_pseudonyms, joined by
    int_task_events__checked). Nothing is filtered: row-level
    checks route rows to the accepted events or to the quarantine downstream.
    Any other raw column (free text such as a prompt) is never selected.
#}
{#- Refuses real telemetry under the public demo key (macros/hash_user_id.sql). #}
{%- do task_watts.pseudonym_key_source() %}

{%- set telemetry = read_telemetry(
    source('telemetry', 'task_events'),
    optional_columns=task_watts.contract_optional_columns('task_events'),
    batched=true,
) %}

with

source as (

    select * from {{ telemetry }}

),

{{ task_watts.staged_contract_rows('task_events', task_watts.telemetry_column_types(telemetry)) }}

select * from final
