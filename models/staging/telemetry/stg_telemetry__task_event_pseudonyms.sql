{{ config(materialized='ephemeral') }}
{#
    The keyed pseudonym of every clear value the task events of the current
    load carry in a column to pseudonymise (the user id): one row per
    distinct value, (clear_value, pseudonym). The keyed hash is a Python
    function, so it runs once per distinct value instead of once per event
    (481,134 users for 17.8M events at 10M calls). The values are read from
    the files on their own, one column, rather than from the staged events:
    the checked events (int_task_events__checked) join this lookup before
    anything filters them, so DuckDB sees two inputs of the load's size and
    builds the join's hash table on the narrow lookup, and the events pass
    through once instead of being buffered for a second reader. The price:
    the quarantine, which reads the checked events, hashes every user of the
    load too, not only those of the rows it reports (about 481k HMACs, a few
    CPU-s, at 10M calls); joined later, where filters have shrunk DuckDB's
    estimate of the events, the join built its hash table on the events.
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

final as (

    {{ task_watts.distinct_pseudonyms('task_events', 'source') }}

)

select * from final
