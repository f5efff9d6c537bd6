{#
    The tasks whose outcome or footprint a daily load must recompute, so that
    the task table, the task fact and their marts cost what a day costs: tasks
    with an event in the day, tasks with a call in the day, and tasks the
    previous load left pending (the data horizon moves, so their completion
    window may run out). Every other task is exactly as the previous load left
    it. Empty in a full build, which recomputes every task.
#}
{#- The task table as the previous load left it: read before this run rewrites it (no ref,
    which would make a cycle; int_tasks__matured runs after this model). -#}
{%- set previous_tasks = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_tasks__matured'
) if execute and task_watts.is_daily_load() else none %}

with

-- read only by a daily load
accepted_events as (  -- noqa: ST03

    select * from {{ ref('int_task_events__accepted') }}

),

-- read only by a daily load
accepted_calls as (  -- noqa: ST03

    select * from {{ ref('int_inference_calls__accepted') }}

),

{% if task_watts.is_daily_load() %}

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

    {% if previous_tasks is not none %}
        select task_id from {{ previous_tasks }}
        where is_pending
    {% else %}
        select cast(null as string) as task_id
        where false
    {% endif %}

),

refreshed as (

    select task_id from touched
    union
    select task_id from previously_pending

),

final as (

    select
        refreshed.task_id,
        {% if previous_tasks is not none -%}
            -- Where the task counted before (a late started event can move it to another
            -- day): the feature-day marts recompute the old day as well as the new one.
            previous.feature as previous_feature,
            cast(previous.started_at as date) as previous_task_date
        {%- else -%}
            cast(null as string) as previous_feature,
            cast(null as date) as previous_task_date
        {%- endif %}
    from refreshed
    {% if previous_tasks is not none -%}
        left join {{ previous_tasks }} as previous
            on refreshed.task_id = previous.task_id
    {%- endif %}

)

{% else %}

    final as (

        select
            cast(null as string) as task_id,
            cast(null as string) as previous_feature,
            cast(null as date) as previous_task_date
        where false

    )

{% endif %}

select * from final
