{# All events of a task must name the same feature, or its energy would be charged twice. #}

with

tasks as (

    select * from {{ ref('int_tasks__matured') }}

),

final as (

    select
        task_id,
        feature_count
    from tasks
    where feature_count > 1

)

select * from final
