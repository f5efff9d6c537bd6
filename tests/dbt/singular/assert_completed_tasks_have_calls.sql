{{ config(severity='warn') }}
{# A task completed with no inference call is either not AI-served or lost its call logs. #}

with

task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

final as (

    select
        task_id,
        feature,
        started_at
    from task_footprint
    where is_completed and call_count = 0

)

select * from final
