-- depends_on: {{ ref('int_task_events__accepted') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='call_id',
        on_schema_change='fail',
        full_refresh=(var('batch_date', none) is none),
        pre_hook="{{ task_watts.clear_current_batch() }}",
    )
}}
{#
    Every accepted call with the feature and time window of its task. A daily
    load (re)joins the day's calls and the earlier calls of every task the
    day's events touched (a late completion, or events that arrived after
    their calls). loaded_by_invocation marks the rows this run wrote, so that
    pricing redoes exactly those.
#}

with

accepted_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

tasks as (

    select * from {{ ref('int_tasks__rolled_up') }}

),

{% if is_incremental() %}

touched_tasks as (

    select distinct task_id
    from {{ ref('int_task_events__accepted') }}
    where batch_date = {{ task_watts.batch_date_literal() }}

),

inference_calls as (

    select * from accepted_calls
    where
        batch_date = {{ task_watts.batch_date_literal() }}
        or task_id in (select touched_tasks.task_id from touched_tasks)

),

{% else %}

    inference_calls as (

        select * from accepted_calls

    ),

{% endif %}

final as (

    select
        inference_calls.call_id,
        inference_calls.task_id,
        tasks.feature,
        tasks.task_id is not null as has_task,
        tasks.started_at as task_started_at,
        tasks.ended_at as task_ended_at,
        inference_calls.started_at,
        inference_calls.ended_at,
        inference_calls.model,
        inference_calls.provider,
        inference_calls.region,
        inference_calls.gpu_type,
        inference_calls.gpu_count,
        inference_calls.batch_size,
        inference_calls.input_tokens,
        inference_calls.cached_input_tokens,
        inference_calls.output_tokens,
        inference_calls.status,
        inference_calls.measured_energy_j,
        inference_calls.batch_date,
        cast('{{ invocation_id }}' as varchar) as loaded_by_invocation

    from inference_calls
    left join tasks
        on inference_calls.task_id = tasks.task_id

)

select * from final
