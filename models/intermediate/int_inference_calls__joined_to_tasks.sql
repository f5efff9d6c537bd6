{{ config(materialized='view') }}
{#
    Every accepted call with the feature and time window of its task: the
    inference-to-task join contract. A view (its contract checks the columns
    and types): the rows are stored once, priced, in fct_inference_call_footprint.
#}

with

inference_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

tasks as (

    select * from {{ ref('int_tasks__matured') }}

),

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
        inference_calls.batch_date

    from inference_calls
    left join tasks
        on inference_calls.task_id = tasks.task_id

)

select * from final
