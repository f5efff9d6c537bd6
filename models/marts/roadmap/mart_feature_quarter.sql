{#
    Feature x calendar quarter, rolled up from mart_feature_task_watts by
    summing its sums and dividing again (never a mean of daily ratios). The
    input of the carbon-vs-quality frontier, with the feature's quality floor
    from the catalogue beside the observed quality signals.
#}

with

feature_task_watts as (

    select * from {{ ref('mart_feature_task_watts') }}

),

feature_catalogue as (

    select * from {{ ref('feature_catalogue') }}

),

quarterly as (

    select
        feature,
        cast({{ dbt.date_trunc('quarter', 'task_date') }} as date) as quarter_start,
        sum(tasks) as tasks,
        sum(completed_tasks) as completed_tasks,
        sum(pending_tasks) as pending_tasks,
        sum(pending_facility_wh) as pending_facility_wh,
        sum(retries) as retries,
        sum(facility_wh) as facility_wh,
        sum(facility_wh_low) as facility_wh_low,
        sum(facility_wh_high) as facility_wh_high,
        sum(wasted_wh) as wasted_wh,
        sum(gco2e_location) as gco2e_location,
        sum(gco2e_location_low) as gco2e_location_low,
        sum(gco2e_location_high) as gco2e_location_high,
        sum(gco2e_embodied) as gco2e_embodied,
        sum(output_tokens) as output_tokens,
        sum(accelerator_wh) as accelerator_wh,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(batch_size_sum) as batch_size_sum,
        sum(calls_with_batch_size) as calls_with_batch_size,
        sum(rated_tasks) as rated_tasks,
        sum(quality_score_sum) as quality_score_sum,
        sum(facility_wh_small) as facility_wh_small,
        sum(facility_wh_medium) as facility_wh_medium,
        sum(facility_wh_large) as facility_wh_large,
        sum(facility_wh_frontier) as facility_wh_frontier

    from feature_task_watts
    group by feature, cast({{ dbt.date_trunc('quarter', 'task_date') }} as date)

),

final as (

    select
        quarterly.feature || '|' || cast(quarterly.quarter_start as string) as feature_quarter_id,
        quarterly.feature,
        quarterly.quarter_start,
        {{ task_watts.quarter_label('quarterly.quarter_start') }} as quarter_label,
        quarterly.tasks,
        quarterly.completed_tasks,
        quarterly.pending_tasks,
        quarterly.pending_facility_wh,
        quarterly.retries,
        quarterly.facility_wh,
        quarterly.wasted_wh,
        quarterly.gco2e_location,
        quarterly.gco2e_embodied,
        quarterly.facility_wh / nullif(quarterly.completed_tasks, 0) as task_wh,
        quarterly.facility_wh_low / nullif(quarterly.completed_tasks, 0) as task_wh_low,
        quarterly.facility_wh_high / nullif(quarterly.completed_tasks, 0) as task_wh_high,
        quarterly.gco2e_location / nullif(quarterly.completed_tasks, 0) as task_gco2e,
        quarterly.gco2e_location_low / nullif(quarterly.completed_tasks, 0) as task_gco2e_low,
        quarterly.gco2e_location_high / nullif(quarterly.completed_tasks, 0) as task_gco2e_high,
        cast(quarterly.completed_tasks as double) / nullif(quarterly.tasks, 0) as completion_rate,
        quarterly.quality_score_sum / nullif(quarterly.rated_tasks, 0) as mean_quality_score,
        quarterly.wasted_wh / nullif(quarterly.facility_wh, 0) as wasted_wh_share,
        quarterly.output_tokens / nullif(quarterly.accelerator_wh, 0) as output_tokens_per_accelerator_wh,
        cast(quarterly.cached_input_tokens as double) / nullif(quarterly.input_tokens, 0) as cache_hit_rate,
        cast(quarterly.batch_size_sum as double) / nullif(quarterly.calls_with_batch_size, 0) as mean_batch_size,
        quarterly.facility_wh_small,
        quarterly.facility_wh_small / nullif(quarterly.facility_wh, 0) as energy_share_small,
        quarterly.facility_wh_medium,
        quarterly.facility_wh_medium / nullif(quarterly.facility_wh, 0) as energy_share_medium,
        quarterly.facility_wh_large,
        quarterly.facility_wh_large / nullif(quarterly.facility_wh, 0) as energy_share_large,
        quarterly.facility_wh_frontier,
        quarterly.facility_wh_frontier / nullif(quarterly.facility_wh, 0) as energy_share_frontier,
        feature_catalogue.quality_floor,
        feature_catalogue.latency_target_ms,
        feature_catalogue.is_deferrable

    from quarterly
    left join feature_catalogue
        on quarterly.feature = feature_catalogue.feature

)

select * from final
