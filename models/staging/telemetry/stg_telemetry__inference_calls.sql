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
    ) }}

),

final as (

    select
        cast(call_id as varchar) as call_id,
        cast(nullif(trim(cast(task_id as varchar)), '') as varchar) as task_id,
        cast(started_at as timestamp) as started_at,
        cast(ended_at as timestamp) as ended_at,
        cast(model as varchar) as model,
        cast(lower(provider) as varchar) as provider,
        cast(region as varchar) as region,
        cast(nullif(trim(cast(gpu_type as varchar)), '') as varchar) as gpu_type,
        cast(gpu_count as integer) as gpu_count,
        cast(batch_size as integer) as batch_size,
        cast(input_tokens as bigint) as input_tokens,
        cast(cached_input_tokens as bigint) as cached_input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(lower(status) as varchar) as status,
        cast(measured_energy_j as double) as measured_energy_j

    from source

)

select * from final
