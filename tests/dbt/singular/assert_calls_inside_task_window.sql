{#
    A call belongs to its task in time as well as by key: it must start and end
    within the task's event window, give or take
    var('call_window_tolerance_minutes') of clock skew. An open task (no
    terminal event yet) has no end, so only its start bounds its calls.
#}

with

calls as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

tasks as (

    select * from {{ ref('int_tasks__matured') }}

),

final as (

    select
        calls.call_id,
        calls.task_id,
        tasks.terminal_outcome,
        calls.started_at,
        calls.ended_at,
        tasks.started_at as task_started_at,
        tasks.ended_at as task_ended_at
    from calls
    inner join tasks
        on calls.task_id = tasks.task_id
    where
        {{ task_watts.priced_by_this_load('calls') }}
        and (
            calls.started_at
            < tasks.started_at - interval '{{ var("call_window_tolerance_minutes") }} minutes'
            or (
                tasks.terminal_outcome != 'open'
                and calls.ended_at
                > tasks.ended_at + interval '{{ var("call_window_tolerance_minutes") }} minutes'
            )
        )

)

select * from final
