{#
    Feature x day (of task start): the energy and carbon of one completed task.
    Energy of retries, failed calls and tasks that never completed is charged
    to the tasks that did (task_wh = all the feature's facility Wh / completed
    tasks). Sums are kept beside every ratio so that any roll-up (week,
    quarter) recomputes the ratio from sums, never by averaging ratios.
#}

with

task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

tasks_by_day as (

    select
        feature,
        cast(started_at as date) as task_date,
        count(*) as tasks,
        sum(case when is_completed then 1 else 0 end) as completed_tasks,
        sum(case when outcome = 'escalated' then 1 else 0 end) as escalated_tasks,
        sum(case when outcome = 'abandoned' then 1 else 0 end) as abandoned_tasks,
        sum(case when outcome = 'open' then 1 else 0 end) as open_tasks,
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

    from task_footprint
    group by feature, cast(started_at as date)

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
        {%- for tier in ['small', 'medium', 'large', 'frontier'] %}
            sum(case when call_footprint.model_tier = '{{ tier }}' then call_footprint.facility_wh else 0 end)
                as facility_wh_{{ tier }},
        {%- endfor %}
        sum(case when call_footprint.energy_method = 'measured' then 1 else 0 end) as measured_calls

    from call_footprint
    inner join task_footprint
        on call_footprint.task_id = task_footprint.task_id
    group by task_footprint.feature, cast(task_footprint.started_at as date)

),

final as (

    select
        tasks_by_day.feature || '|' || cast(tasks_by_day.task_date as varchar) as feature_day_id,
        tasks_by_day.feature,
        tasks_by_day.task_date,
        tasks_by_day.tasks,
        tasks_by_day.completed_tasks,
        tasks_by_day.escalated_tasks,
        tasks_by_day.abandoned_tasks,
        tasks_by_day.open_tasks,
        tasks_by_day.attempts,
        tasks_by_day.retries,
        coalesce(tasks_by_day.calls, 0) as calls,
        coalesce(tasks_by_day.failed_calls, 0) as failed_calls,
        coalesce(calls_by_day.measured_calls, 0) as measured_calls,
        coalesce(calls_by_day.input_tokens, 0) as input_tokens,
        coalesce(calls_by_day.cached_input_tokens, 0) as cached_input_tokens,
        coalesce(calls_by_day.output_tokens, 0) as output_tokens,
        coalesce(calls_by_day.accelerator_wh, 0) as accelerator_wh,
        tasks_by_day.facility_wh,
        tasks_by_day.facility_wh_low,
        tasks_by_day.facility_wh_high,
        tasks_by_day.wasted_wh,
        tasks_by_day.gco2e_location,
        tasks_by_day.gco2e_location_low,
        tasks_by_day.gco2e_location_high,
        tasks_by_day.gco2e_market,
        tasks_by_day.gco2e_embodied,
        tasks_by_day.water_ml,
        tasks_by_day.facility_wh / nullif(tasks_by_day.completed_tasks, 0) as task_wh,
        tasks_by_day.facility_wh_low / nullif(tasks_by_day.completed_tasks, 0) as task_wh_low,
        tasks_by_day.facility_wh_high / nullif(tasks_by_day.completed_tasks, 0) as task_wh_high,
        tasks_by_day.gco2e_location / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e,
        tasks_by_day.gco2e_location_low / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e_low,
        tasks_by_day.gco2e_location_high / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e_high,
        tasks_by_day.gco2e_market / nullif(tasks_by_day.completed_tasks, 0) as task_gco2e_market,
        tasks_by_day.completed_tasks * 1.0 / tasks_by_day.tasks as completion_rate,
        tasks_by_day.wasted_wh / nullif(tasks_by_day.facility_wh, 0) as wasted_wh_share,
        calls_by_day.output_tokens / nullif(calls_by_day.accelerator_wh, 0)
            as output_tokens_per_accelerator_wh,
        calls_by_day.cached_input_tokens * 1.0 / nullif(calls_by_day.input_tokens, 0) as cache_hit_rate,
        coalesce(calls_by_day.calls_with_batch_size, 0) as calls_with_batch_size,
        coalesce(calls_by_day.batch_size_sum, 0) as batch_size_sum,
        calls_by_day.batch_size_sum * 1.0 / nullif(calls_by_day.calls_with_batch_size, 0)
            as mean_batch_size,
        {%- for tier in ['small', 'medium', 'large', 'frontier'] %}
            coalesce(calls_by_day.facility_wh_{{ tier }}, 0) as facility_wh_{{ tier }},
            calls_by_day.facility_wh_{{ tier }} / nullif(tasks_by_day.facility_wh, 0)
                as energy_share_{{ tier }},
        {%- endfor %}
        tasks_by_day.rated_tasks,
        tasks_by_day.quality_score_sum,
        tasks_by_day.quality_score_sum / nullif(tasks_by_day.rated_tasks, 0) as mean_quality_score

    from tasks_by_day
    left join calls_by_day
        on
            tasks_by_day.feature = calls_by_day.feature
            and tasks_by_day.task_date = calls_by_day.task_date

)

select * from final
