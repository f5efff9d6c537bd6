{{
    config(
        materialized='incremental',
        incremental_strategy=('append' if target.type == 'spark' else 'delete+insert'),
        unique_key='call_id',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.clear_current_batch() }}",
    )
}}
{#
    The calls that passed every rejecting row rule, one row per call_id,
    across all loaded days. A daily load adds its day; a call_id already
    accepted from another day stays as it was (the later copy is quarantined
    as duplicate_call). Calls without a task are kept here (unattributed).
#}

with

validated_calls as (

    select * from {{ ref('int_inference_calls__validated') }}

),

final as (

    select
        {{ task_watts.contract_columns('inference_calls', 'validated_calls', trailing_comma=true) }}
        validated_calls.batch_date,
        -- where the row came from; as two columns, the file name compresses to nothing
        validated_calls.source_file,
        validated_calls.source_row_number

    from validated_calls
    {% if is_incremental() %}
        -- The pre-hook removed this day's earlier load: what is left is other days.
        left join {{ this }} as earlier
            on validated_calls.call_id = earlier.call_id
    {% endif %}
    where
        validated_calls.passes_row_rules
        and not validated_calls.is_duplicate_call
    {% if is_incremental() %}
            and earlier.call_id is null
        {% endif %}

)

select * from final
