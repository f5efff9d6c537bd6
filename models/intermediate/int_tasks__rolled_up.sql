{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='task_id',
        full_refresh=(var('batch_date', none) is none),
    )
}}
{#
    One row per task from all its accepted events. A daily load recomputes only
    the tasks its day touched, from every event of those tasks (the scan starts
    at the earliest event any of them has): a completion arriving days after
    the calls updates the task's outcome.
#}

with

accepted_events as (

    select * from {{ ref('int_task_events__accepted') }}

),

{% if is_incremental() %}

batch_tasks as (

    select distinct task_id from accepted_events
    where batch_date = {{ task_watts.batch_date_literal() }}

),

scan_start as (

    select min(first_event_at) as first_event_at
    from (
        select accepted_events.event_at as first_event_at
        from accepted_events
        where accepted_events.batch_date = {{ task_watts.batch_date_literal() }}
        union all
        select earlier.first_event_at
        from {{ this }} as earlier
        inner join batch_tasks
            on earlier.task_id = batch_tasks.task_id
    ) as starts

),

task_events as (

    select accepted_events.*
    from accepted_events
    inner join batch_tasks
        on accepted_events.task_id = batch_tasks.task_id
    where accepted_events.event_at >= (select scan_start.first_event_at from scan_start)

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
        min(user_id_hash) as user_id_hash,
        min(user_pseudonym_key_id) as user_pseudonym_key_id,
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
        user_id_hash,
        user_pseudonym_key_id,
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
