{#
    Feature x day (of task start): the energy and carbon of one completed task.
    Energy of retries, failed calls and tasks that never completed is charged
    to the tasks that did (task_wh = all the feature's facility Wh / completed
    tasks). Sums are kept beside every ratio so that any roll-up (week,
    quarter) recomputes the ratio from sums, never by averaging ratios.

    Pending tasks (open, still inside their feature's completion window) are
    in neither the numerator nor the denominator: they are counted apart
    (pending_tasks, pending_facility_wh) until they complete or time out, so
    the newest days show no end-of-period spike. Token, batch and cache
    columns describe calls, not outcomes: they cover every call of the day's
    tasks, pending ones included.

    Incremental: a daily load recomputes only the feature-days of the tasks it
    refreshed (int_tasks__to_refresh: where they start now and where they
    started before), deleting those rows first; a full build rebuilds every day.
#}
-- depends_on: {{ ref('int_tasks__to_refresh') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.delete_refreshed('feature_day_id', task_watts.refreshed_feature_days(ref('fct_task_footprint'), ref('int_tasks__to_refresh'))) }}",
    )
}}

with

task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

{% if is_incremental() %}

tasks_to_refresh as (

    select * from {{ ref('int_tasks__to_refresh') }}

),

refreshed_days as (

    {{ task_watts.refreshed_feature_days('task_footprint', 'tasks_to_refresh') }}

),

scoped_tasks as (

    select task_footprint.*
    from task_footprint
    where
        task_footprint.feature || '|' || cast(cast(task_footprint.started_at as date) as string)
        in (select refreshed_days.feature_day_id from refreshed_days)

),

{% else %}

    scoped_tasks as (

        select * from task_footprint

    ),

{% endif %}

tasks_by_day as (

    select
        feature,
        cast(started_at as date) as task_date,
        count(*) as tasks,
        sum(case when is_completed then 1 else 0 end) as completed_tasks,
        sum(case when outcome = 'escalated' then 1 else 0 end) as escalated_tasks,
        sum(case when outcome = 'abandoned' then 1 else 0 end) as abandoned_tasks,
        sum(case when outcome = 'timed_out' then 1 else 0 end) as timed_out_tasks,
        sum(attempts) as attempts,
        sum(retries) as retries,
        sum(call_count) as calls,
        sum(failed_call_count) as failed_calls,
        sum(facility_wh) as facility_wh,
        sum(facility_wh_low) as facility_wh_low,
        sum(facility_wh_high) as facility_wh_high,
        sum(case when is_completed then 0 else facility_wh end) as wasted_wh,
        sum(gco2e_location) as gco2e_location,
        sum(gco2e_location_low) as gco2e_location_low,
        sum(gco2e_location_high) as gco2e_location_high,
        sum(gco2e_market) as gco2e_market,
        sum(gco2e_embodied) as gco2e_embodied,
        sum(water_ml) as water_ml,
        sum(case when quality_score is not null then 1 else 0 end) as rated_tasks,
        sum(quality_score) as quality_score_sum

    from scoped_tasks
    where not is_pending
    group by feature, cast(started_at as date)

),

pending_by_day as (

    select
        feature,
        cast(started_at as date) as task_date,
        count(*) as pending_tasks,
        sum(facility_wh) as pending_facility_wh

    from scoped_tasks
    where is_pending
    group by feature, cast(started_at as date)

),

feature_days as (

    select
        feature,
        task_date
    from tasks_by_day
    union
    select
        feature,
        task_date
    from pending_by_day

),

calls_by_day as (

    select
        task_footprint.feature,
        cast(task_footprint.started_at as date) as task_date,
        sum(call_footprint.input_tokens) as input_tokens,
        sum(call_footprint.cached_input_tokens) as cached_input_tokens,
        sum(call_footprint.output_tokens) as output_tokens,
        sum(call_footprint.accelerator_wh) as accelerator_wh,
        sum(case when call_footprint.batch_size is not null then 1 else 0 end)
            as calls_with_batch_size,
        sum(call_footprint.batch_size) as batch_size_sum,
        {%- for tier in var('model_tiers') %}
            sum(
                case
                    when call_footprint.model_tier = '{{ tier }}' and not task_footprint.is_pending
                        then call_footprint.facility_wh
                    else 0
                end
            ) as facility_wh_{{ tier }},
        {%- endfor %}
        sum(case when call_footprint.energy_method = 'measured' then 1 else 0 end) as measured_calls

    from call_footprint
    inner join scoped_tasks as task_footprint
        on call_footprint.task_id = task_footprint.task_id
    group by task_footprint.feature, cast(task_footprint.started_at as date)

),

final as (

    select
        feature_days.feature || '|' || cast(feature_days.task_date as string) as feature_day_id,
        feature_days.feature,
        feature_days.task_date,
        coalesce(tasks_by_day.tasks, 0) as tasks,
        coalesce(tasks_by_day.completed_tasks, 0) as completed_tasks,
        coalesce(tasks_by_day.escalated_tasks, 0) as escalated_tasks,
        coalesce(tasks_by_day.abandoned_tasks, 0) as abandoned_tasks,
        coalesce(tasks_by_day.timed_out_tasks, 0) as timed_out_tasks,
        coalesce(pending_by_day.pending_tasks, 0) as pending_tasks,
        coalesce(pending_by_day.pending_facility_wh, 0) as pending_facility_wh,
        coalesce(tasks_by_day.attempts, 0) as attempts,
        coalesce(tasks_by_day.retries, 0) as retries,
        coalesce(tasks_by_day.calls, 0) as calls,
        coalesce(tasks_by_day.failed_calls, 0) as failed_calls,
        coalesce(calls_by_day.measured_calls, 0) as measured_calls,
        coalesce(calls_by_day.input_tokens, 0) as input_tokens,
        coalesce(calls_by_day.cached_input_tokens, 0) as cached_input_tokens,
        coalesce(calls_by_day.output_tokens, 0) as output_tokens,
        coalesce(calls_by_day.accelerator_wh, 0) as accelerator_wh,
        coalesce(tasks_by_day.facility_wh, 0) as facility_wh,
        coalesce(tasks_by_day.facility_wh_low, 0) as facility_wh_low,
        coalesce(tasks_by_day.facility_wh_high, 0) as facility_wh_high,
        coalesce(tasks_by_day.wasted_wh, 0) as wasted_wh,
        coalesce(tasks_by_day.gco2e_location, 0) as gco2e_location,
        coalesce(tasks_by_day.gco2e_location_low, 0) as gco2e_location_low,
        coalesce(tasks_by_day.gco2e_location_high, 0) as gco2e_location_high,
        coalesce(tasks_by_day.gco2e_market, 0) as gco2e_market,
        coalesce(tasks_by_day.gco2e_embodied, 0) as gco2e_embodied,
        coalesce(tasks_by_day.water_ml, 0) as water_ml,
        tasks_by_day.facility_wh / nullif(tasks_by_day.completed_tasks, 0) as task_wh,
        tasks_by_day.facility_wh_low / nullif(tasks_by_day.completed_tasks, 0) as task_wh_low,
        tasks_by_day.facility_wh_high / nullif(tasks_by_day.completed_tasks, 0) as task_wh_high,
        tasks_by_day.gco2e_location / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e,
        tasks_by_day.gco2e_location_low / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e_low,
        tasks_by_day.gco2e_location_high / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e_high,
        tasks_by_day.gco2e_market / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e_market,
        cast(tasks_by_day.completed_tasks as double) / nullif(tasks_by_day.tasks, 0) as completion_rate,
        tasks_by_day.wasted_wh / nullif(tasks_by_day.facility_wh, 0) as wasted_wh_share,
        calls_by_day.output_tokens / nullif(calls_by_day.accelerator_wh, 0)
            as output_tokens_per_accelerator_wh,
        cast(calls_by_day.cached_input_tokens as double) / nullif(calls_by_day.input_tokens, 0) as cache_hit_rate,
        coalesce(calls_by_day.calls_with_batch_size, 0) as calls_with_batch_size,
        coalesce(calls_by_day.batch_size_sum, 0) as batch_size_sum,
        cast(calls_by_day.batch_size_sum as double) / nullif(calls_by_day.calls_with_batch_size, 0)
            as mean_batch_size,
        {%- for tier in var('model_tiers') %}
            coalesce(calls_by_day.facility_wh_{{ tier }}, 0) as facility_wh_{{ tier }},
            calls_by_day.facility_wh_{{ tier }} / nullif(tasks_by_day.facility_wh, 0)
                as energy_share_{{ tier }},
        {%- endfor %}
        coalesce(tasks_by_day.rated_tasks, 0) as rated_tasks,
        tasks_by_day.quality_score_sum,
        tasks_by_day.quality_score_sum / nullif(tasks_by_day.rated_tasks, 0) as mean_quality_score

    from feature_days
    left join tasks_by_day
        on
            feature_days.feature = tasks_by_day.feature
            and feature_days.task_date = tasks_by_day.task_date
    left join pending_by_day
        on
            feature_days.feature = pending_by_day.feature
            and feature_days.task_date = pending_by_day.task_date
    left join calls_by_day
        on
            feature_days.feature = calls_by_day.feature
            and feature_days.task_date = calls_by_day.task_date

)

select * from final
