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
) if execute and var('batch_date', none) is not none else none %}

with

-- read only by a daily load
accepted_events as (  -- noqa: ST03

    select * from {{ ref('int_task_events__accepted') }}

),

-- read only by a daily load
accepted_calls as (  -- noqa: ST03

    select * from {{ ref('int_inference_calls__accepted') }}

),

{% if var('batch_date', none) is not none %}

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
        select cast(null as varchar) as task_id
        where false
    {% endif %}

),

final as (

    select task_id from touched
    union
    select task_id from previously_pending

)

{% else %}

    final as (

        select cast(null as varchar) as task_id
        where false

    )

{% endif %}

select * from final
