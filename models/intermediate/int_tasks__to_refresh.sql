{#
    The tasks whose outcome or footprint a daily load must recompute, so that
    the task fact and its marts cost what a day costs: tasks with an event in
    the day, tasks with a call in the day, and tasks that were pending before
    the load (the data horizon moved, so their completion window may have run
    out). Every other task is exactly as the previous load left it. Empty in a
    full build, which recomputes every task.
#}

with

-- read only by a daily load
accepted_events as (  -- noqa: ST03

    select * from {{ ref('int_task_events__accepted') }}

),

-- read only by a daily load
accepted_calls as (  -- noqa: ST03

    select * from {{ ref('int_inference_calls__accepted') }}

),

tasks as (

    select * from {{ ref('int_tasks__rolled_up') }}

),

-- read only by a daily load
feature_catalogue as (  -- noqa: ST03

    select * from {{ ref('feature_catalogue') }}

),

{% if var('batch_date', none) is not none %}

previous_horizon as (

    {% if var('maturity_as_of', none) is not none %}
        select cast('{{ var("maturity_as_of") }}' as timestamp) as maturity_as_of
    {% else %}
        -- The horizon the previous load judged maturity by: its latest event or call end.
        select
            greatest(
                (
                    select max(accepted_events.event_at) from accepted_events
                    where accepted_events.batch_date < {{ task_watts.batch_date_literal() }}
                ),
                (
                    select max(accepted_calls.ended_at) from accepted_calls
                    where accepted_calls.batch_date < {{ task_watts.batch_date_literal() }}
                )
            ) as maturity_as_of
    {% endif %}

),

touched as (

    select accepted_events.task_id
    from accepted_events
    where accepted_events.batch_date = {{ task_watts.batch_date_literal() }}
    union
    select accepted_calls.task_id
    from accepted_calls
    where
        accepted_calls.batch_date = {{ task_watts.batch_date_literal() }}
        and accepted_calls.task_id is not null

),

previously_pending as (

    select tasks.task_id
    from tasks
    cross join previous_horizon
    left join feature_catalogue
        on tasks.feature = feature_catalogue.feature
    where
        tasks.terminal_outcome = 'open'
        and (
            previous_horizon.maturity_as_of is null
            or tasks.ended_at + {{ task_watts.interval_hours(
                'coalesce(feature_catalogue.completion_window_hours, '
                ~ var('default_completion_window_hours') ~ ')'
            ) }} > previous_horizon.maturity_as_of
        )

),

final as (

    select task_id from touched
    union
    select task_id from previously_pending

)

{% else %}

    final as (

        select cast(null as varchar) as task_id
        from tasks
        where false

    )

{% endif %}

select * from final
