{{
    config(
        materialized='incremental',
        incremental_strategy=('append' if target.type == 'spark' else 'delete+insert'),
        unique_key='event_id',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.clear_current_batch() }}",
    )
}}
{#
    The task events that passed every row rule, one row per event_id, across
    all loaded days. A daily load adds its day; an event_id already accepted
    from another day stays as it was (the later copy is quarantined as
    duplicate_event).
#}

with

validated_events as (

    select * from {{ ref('int_task_events__validated') }}

),

final as (

    select
        {{ task_watts.contract_columns('task_events', 'validated_events', trailing_comma=true) }}
        validated_events.batch_date,
        -- where the row came from; as two columns, the file name compresses to nothing
        validated_events.source_file,
        validated_events.source_row_number

    from validated_events
    {% if is_incremental() %}
        -- The pre-hook removed this day's earlier load: what is left is other days.
        left join {{ this }} as earlier
            on validated_events.event_id = earlier.event_id
    {% endif %}
    where
        validated_events.passes_row_rules
        and not validated_events.is_duplicate_event
    {% if is_incremental() %}
            and earlier.event_id is null
        {% endif %}

)

select * from final
