{#
    The inference calls of the current load, typed to the input contract: one
    day's partition in a daily load (var('batch_date')), every file otherwise.
    Nothing is filtered here: row-level checks route rows to the accepted calls
    or to the quarantine downstream, and `source_row_id` lets the two be
    reconciled with this table row for row. Timestamps may be ISO text (an
    offset converts to UTC, naive is UTC) or epoch s/ms/us/ns; ids lose any
    surrounding whitespace, and a blank id is no id.
#}

with

source as (

    select * from {{ read_telemetry(
        source('telemetry', 'inference_calls'),
        optional_columns={
            'gpu_type': 'varchar',
            'gpu_count': 'integer',
            'batch_size': 'integer',
            'measured_energy_j': 'double',
        },
        batched=true,
    ) }}

),

typed as (

    select
        cast({{ task_watts.blank_to_null('call_id') }} as varchar) as call_id,
        cast({{ task_watts.blank_to_null('task_id') }} as varchar) as task_id,
        {{ task_watts.to_utc_timestamp('started_at') }} as started_at,
        {{ task_watts.to_utc_timestamp('ended_at') }} as ended_at,
        cast(model as varchar) as model,
        cast(lower(provider) as varchar) as provider,
        cast(region as varchar) as region,
        cast({{ task_watts.blank_to_null('gpu_type') }} as varchar) as gpu_type,
        cast(gpu_count as integer) as gpu_count,
        cast(batch_size as integer) as batch_size,
        cast(input_tokens as bigint) as input_tokens,
        cast(cached_input_tokens as bigint) as cached_input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(lower(status) as varchar) as status,
        cast(measured_energy_j as double) as measured_energy_j,
        cast(filename as varchar) as source_file

    from source

),

hashed as (

    select
        *,
        md5(concat_ws(
            '|', call_id, task_id, started_at, ended_at, model, provider, region, gpu_type,
            gpu_count, batch_size, input_tokens, cached_input_tokens, output_tokens, status,
            measured_energy_j
        )) as row_hash
    from typed

),

final as (

    select
        {{ task_watts.contract_columns('inference_calls', trailing_comma=true) }}
        {{ task_watts.row_identity_columns('call_id') }}

    from hashed

)

select * from final
