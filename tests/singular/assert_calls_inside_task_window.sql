{#
    A call belongs to its task in time as well as by key: it must start and end
    within the task's event window, give or take
    var('call_window_tolerance_minutes') of clock skew.
#}

with

calls as (

    select * from {{ ref('int_inference_calls__joined_to_tasks') }}

),

final as (

    select
        call_id,
        task_id,
        started_at,
        ended_at,
        task_started_at,
        task_ended_at
    from calls
    where
        has_task
        and (
            started_at < task_started_at - interval '{{ var("call_window_tolerance_minutes") }} minutes'
            or ended_at > task_ended_at + interval '{{ var("call_window_tolerance_minutes") }} minutes'
        )

)

select * from final
