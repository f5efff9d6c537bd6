with

source as (

    select * from {{ read_telemetry(
        source('telemetry', 'task_events'),
        optional_columns={'quality_score': 'double'},
    ) }}

),

final as (

    select
        cast(event_id as varchar) as event_id,
        cast(task_id as varchar) as task_id,
        cast(feature as varchar) as feature,
        cast(lower(event_type) as varchar) as event_type,
        cast(event_at as timestamp) as event_at,
        cast({{ hash_user_id('cast(user_id as varchar)') }} as varchar) as user_id_hash,
        cast(quality_score as double) as quality_score

    from source

)

select * from final
