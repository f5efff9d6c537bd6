{#
    Feature x model x quarter: what each model actually delivered for each
    feature - the evidence the routing what-if may use. A task is attributed
    to its primary model (the one that drew most of its facility energy), so
    each task counts once. Latency is per attempt: the task's summed call
    time divided by its attempts (an attempt with a tool step waits for both
    calls), and the feature catalogue's target is a p95 of that.

    Incremental: a daily load recomputes only the quarters its refreshed tasks
    start in (now and before), deleting those rows first; percentiles cannot be
    summed, so a touched quarter is recomputed from all of its tasks.
#}
-- depends_on: {{ ref('int_tasks__to_refresh') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.delete_refreshed('quarter_start', task_watts.refreshed_task_quarters(ref('fct_task_footprint'), ref('int_tasks__to_refresh'))) }}",
    )
}}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

all_task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

{% if is_incremental() %}

tasks_to_refresh as (

    select * from {{ ref('int_tasks__to_refresh') }}

),

refreshed_quarters as (

    {{ task_watts.refreshed_task_quarters('all_task_footprint', 'tasks_to_refresh') }}

),

task_footprint as (

    select all_task_footprint.*
    from all_task_footprint
    where {{ task_watts.in_refreshed_quarter('all_task_footprint.started_at') }}

),

task_calls as (

    select call_footprint.*
    from call_footprint
    inner join task_footprint
        on call_footprint.task_id = task_footprint.task_id

),

{% else %}

    task_footprint as (

        select * from all_task_footprint

    ),

    task_calls as (

        select * from call_footprint

    ),

{% endif %}

task_model_energy as (

    select
        task_id,
        model,
        model_tier,
        provider,
        gpu_type,
        region,
        sum(facility_wh) as model_facility_wh,
        sum({{ task_watts.timestamp_diff('millisecond', 'started_at', 'ended_at') }}) as model_call_ms

    from task_calls
    where has_task
    group by task_id, model, model_tier, provider, gpu_type, region

),

task_primary_model as (

    select
        task_id,
        model,
        model_tier,
        provider,
        gpu_type,
        region,
        sum(model_call_ms) over (partition by task_id) as task_call_ms,
        row_number() over (
            partition by task_id
            order by model_facility_wh desc, model asc, region asc
        ) as model_rank

    from task_model_energy

),

tasks_with_model as (

    select
        task_footprint.task_id,
        task_footprint.feature,
        cast({{ dbt.date_trunc('quarter', 'task_footprint.started_at') }} as date) as quarter_start,
        task_primary_model.model,
        task_primary_model.model_tier,
        task_primary_model.provider,
        task_primary_model.gpu_type,
        task_primary_model.region,
        task_footprint.is_completed,
        task_footprint.attempts,
        task_footprint.retries,
        task_footprint.facility_wh,
        task_footprint.gco2e_location,
        task_footprint.quality_score,
        cast(task_primary_model.task_call_ms as double) / task_footprint.attempts as attempt_latency_ms

    from task_footprint
    inner join task_primary_model
        on
            task_footprint.task_id = task_primary_model.task_id
            and task_primary_model.model_rank = 1
    -- pending tasks are not yet evidence of what a model delivers
    where not task_footprint.is_pending

),

by_model as (

    select
        feature,
        quarter_start,
        model,
        model_tier,
        provider,
        gpu_type,
        region,
        count(*) as tasks,
        sum(case when is_completed then 1 else 0 end) as completed_tasks,
        sum(attempts) as attempts,
        sum(retries) as retries,
        sum(facility_wh) as facility_wh,
        sum(gco2e_location) as gco2e_location,
        sum(case when quality_score is not null then 1 else 0 end) as rated_tasks,
        sum(quality_score) as quality_score_sum,
        percentile_cont(0.5) within group (order by attempt_latency_ms) as p50_attempt_latency_ms,
        percentile_cont(0.95) within group (order by attempt_latency_ms) as p95_attempt_latency_ms

    from tasks_with_model
    group by feature, quarter_start, model, model_tier, provider, gpu_type, region

),

final as (

    select
        by_model.feature || '|' || by_model.model || '|' || by_model.region
        || '|' || cast(by_model.quarter_start as string) as feature_model_quarter_id,
        by_model.feature,
        by_model.quarter_start,
        {{ task_watts.quarter_label('by_model.quarter_start') }} as quarter_label,
        by_model.model,
        by_model.model_tier,
        by_model.provider,
        by_model.gpu_type,
        by_model.region,
        by_model.tasks,
        by_model.completed_tasks,
        by_model.attempts,
        by_model.retries,
        by_model.facility_wh,
        by_model.gco2e_location,
        cast(by_model.completed_tasks as double) / by_model.tasks as completion_rate,
        cast(by_model.retries as double) / by_model.tasks as retries_per_task,
        by_model.facility_wh / by_model.tasks as wh_per_started_task,
        by_model.gco2e_location / by_model.tasks as gco2e_per_started_task,
        by_model.facility_wh / nullif(by_model.completed_tasks, 0) as task_wh,
        by_model.gco2e_location / nullif(by_model.completed_tasks, 0) as task_gco2e,
        by_model.quality_score_sum / nullif(by_model.rated_tasks, 0) as mean_quality_score,
        by_model.p50_attempt_latency_ms,
        by_model.p95_attempt_latency_ms

    from by_model

)

select * from final
