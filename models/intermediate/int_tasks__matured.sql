{#
    Every task with its outcome as of the data horizon. A task with no
    terminal event is still in progress until its feature's completion window
    has passed since its last event: it is pending, and counts in neither the
    numerator nor the denominator of any task-Wh (otherwise the newest days
    carry the energy of tasks whose completions have not arrived yet). After
    the window it has timed out: abandoned without saying so, and its energy is
    waste charged to the tasks that completed.

    The one stored table of tasks (int_tasks__rolled_up is ephemeral). A daily
    load recomputes the tasks int_tasks__to_refresh lists (the day's, and those
    pending before it: the horizon moved for them); a timed-out or terminal
    task with nothing new keeps its outcome.
#}
{{
    config(
        materialized='incremental',
        incremental_strategy=('append' if target.type == 'spark' else 'delete+insert'),
        unique_key='task_id',
        full_refresh=(not task_watts.is_daily_load()),
    )
}}

with

tasks as (

    select * from {{ ref('int_tasks__rolled_up') }}

),

feature_catalogue as (

    select * from {{ ref('feature_catalogue') }}

),

accepted_events as (

    select * from {{ ref('int_task_events__accepted') }}

),

accepted_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

horizon as (

    {% if var('maturity_as_of', none) is not none %}
        select cast('{{ var("maturity_as_of") }}' as timestamp) as maturity_as_of
    {% else %}
        select
            greatest(
                (select max(accepted_events.event_at) from accepted_events),
                (select max(accepted_calls.ended_at) from accepted_calls)
            ) as maturity_as_of
    {% endif %}

),

windowed as (

    select
        tasks.*,
        coalesce(
            feature_catalogue.completion_window_hours,
            {{ var('default_completion_window_hours') }}
        ) as completion_window_hours,
        horizon.maturity_as_of
    from tasks
    cross join horizon
    left join feature_catalogue
        on tasks.feature = feature_catalogue.feature

),

final as (

    select
        *,
        case
            when terminal_outcome != 'open' then terminal_outcome
            when
                ended_at + {{ task_watts.interval_hours('completion_window_hours') }}
                > maturity_as_of
                then 'pending'
            else 'timed_out'
        end as outcome,
        coalesce(
            terminal_outcome = 'open'
            and ended_at + {{ task_watts.interval_hours('completion_window_hours') }}
            > maturity_as_of,
            false
        ) as is_pending

    from windowed

)

select * from final
