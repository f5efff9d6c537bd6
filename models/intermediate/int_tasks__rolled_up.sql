{{ config(materialized='ephemeral') }}
{#
    One row per task from all its accepted events: the terminal outcome, the
    attempts, the time window and the mean quality rating. Ephemeral: it is
    stored once, with its maturity, in int_tasks__matured. In a daily load it
    rolls up only the tasks int_tasks__to_refresh lists (from every event of
    those tasks, whatever day it came in): a completion arriving days after the
    calls updates the task's outcome.
#}

with

accepted_events as (

    select * from {{ ref('int_task_events__accepted') }}

),

-- read only by a daily load
tasks_to_refresh as (  -- noqa: ST03

    select * from {{ ref('int_tasks__to_refresh') }}

),

{% if task_watts.is_daily_load() %}

task_events as (

    select accepted_events.*
    from accepted_events
    inner join tasks_to_refresh
        on accepted_events.task_id = tasks_to_refresh.task_id

),

{% else %}

    task_events as (

        select * from accepted_events

    ),

{% endif %}

rolled_up as (

    select
        task_id,
        min(feature) as feature,
        count(distinct feature) as feature_count,
        coalesce(
            min(case when event_type = 'started' then event_at end),
            min(event_at)
        ) as started_at,
        max(event_at) as last_event_at,
        min(event_at) as first_event_at,
        min(case when event_type = 'completed' then event_at end) as completed_at,
        sum(case when event_type = 'completed' then 1 else 0 end) as completed_events,
        sum(case when event_type = 'escalated' then 1 else 0 end) as escalated_events,
        sum(case when event_type = 'abandoned' then 1 else 0 end) as abandoned_events,
        sum(case when event_type = 'retried' then 1 else 0 end) as retries,
        sum(case when event_type = 'rated' then 1 else 0 end) as ratings,
        avg(case when event_type = 'rated' then quality_score end) as quality_score,
        count(*) as event_count

    from task_events
    group by task_id

),

final as (

    select
        task_id,
        feature,
        feature_count,
        -- A completion wins over an escalation or abandon logged for an earlier
        -- attempt: the user got what they came for.
        case
            when completed_events > 0 then 'completed'
            when escalated_events > 0 then 'escalated'
            when abandoned_events > 0 then 'abandoned'
            else 'open'
        end as terminal_outcome,
        completed_events > 0 as is_completed,
        1 + retries as attempts,
        retries,
        started_at,
        last_event_at as ended_at,
        first_event_at,
        completed_at,
        quality_score,
        ratings,
        event_count

    from rolled_up

)

select * from final
