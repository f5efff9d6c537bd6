with

source as (

    select * from {{ read_telemetry(
        source('telemetry', 'grid_intensity_hourly'),
        optional_columns={
            'grid_zone': 'string',
            'hour_start_at': 'timestamp',
            'gco2e_per_kwh': 'double',
            'source': 'string',
        },
        required=false,
    ) }}

),

final as (

    select
        cast(grid_zone as string) as grid_zone,
        -- Truncate so that a sub-hour timestamp in an export still keys its hour.
        cast(date_trunc('hour', cast(hour_start_at as timestamp)) as timestamp) as hour_start_at,
        cast(gco2e_per_kwh as double) as gco2e_per_kwh,
        cast(source as string) as source

    from source

)

select * from final
