{#
    The task events of the current load (one day's partition in a daily load,
    every file otherwise), typed, the user id pseudonymised (keyed HMAC-SHA-256,
    the key held by the warehouse session, never in this SQL) and never kept in
    clear, with the id of the key beside it. Nothing is filtered: row-level
    checks route rows to the accepted events or to the quarantine downstream.
    Any other raw column (free text such as a prompt) is never selected.
#}
{#- Refuses real telemetry under the public demo key (macros/hash_user_id.sql). #}
{%- do task_watts.pseudonym_key_source() %}

with

source as (

    select * from {{ read_telemetry(
        source('telemetry', 'task_events'),
        optional_columns={'quality_score': 'double'},
        batched=true,
    ) }}

),

typed as (

    select
        cast({{ task_watts.blank_to_null('event_id') }} as varchar) as event_id,
        cast({{ task_watts.blank_to_null('task_id') }} as varchar) as task_id,
        cast(feature as varchar) as feature,
        cast(lower(event_type) as varchar) as event_type,
        {{ task_watts.to_utc_timestamp('event_at') }} as event_at,
        cast({{ hash_user_id('cast(user_id as varchar)') }} as varchar) as user_id_hash,
        cast({{ task_watts.pseudonym_key_id() }} as varchar) as user_pseudonym_key_id,
        cast(quality_score as double) as quality_score,
        cast(filename as varchar) as source_file

    from source

),

hashed as (

    select
        *,
        md5(concat_ws(
            '|', event_id, task_id, feature, event_type, event_at, user_id_hash, quality_score
        )) as row_hash
    from typed

),

final as (

    select
        {{ task_watts.contract_columns('task_events', trailing_comma=true) }}
        {{ task_watts.row_identity_columns('event_id') }}

    from hashed

)

select * from final
