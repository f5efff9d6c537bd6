{#
    Time-and-place what-if for deferrable features (feature catalogue), per
    quarter, in the spirit of the Carbon Aware SDK's best-time and
    best-location queries:

    - time: each call re-priced at the lowest hourly intensity of its own grid
      zone on the same UTC day (the deferral window). Only calls priced with an
      hourly intensity can move; the others keep their intensity and
      hourly_coverage_share says how much of the energy had hourly data.
    - place: the feature's IT energy re-priced in each region where the same
      model on the same accelerator served calls that quarter (the fleet that
      could take the work), at that region's PUE and observed mean
      location-based intensity; the lowest one is kept.

    The two are alternatives, not combined: the hourly profile of another
    region is not known. Savings are location-based gCO2e.

    Incremental: a daily load recomputes only the quarters its calls and
    refreshed tasks fall in, deleting those rows first.
#}
-- depends_on: {{ ref('int_tasks__to_refresh') }}
-- depends_on: {{ ref('int_inference_calls__accepted') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.delete_refreshed('quarter_start', task_watts.refreshed_call_quarters(ref('fct_inference_call_footprint'), ref('int_inference_calls__accepted'), ref('fct_task_footprint'), ref('int_tasks__to_refresh'))) }}",
    )
}}

with

all_call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

grid_intensity_hourly as (

    select * from {{ ref('stg_telemetry__grid_intensity_hourly') }}

),

feature_catalogue as (

    select * from {{ ref('feature_catalogue') }}

),

task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

{% if is_incremental() %}

accepted_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

tasks_to_refresh as (

    select * from {{ ref('int_tasks__to_refresh') }}

),

refreshed_quarters as (

    {{ task_watts.refreshed_call_quarters(
        'all_call_footprint', 'accepted_calls', 'task_footprint', 'tasks_to_refresh'
    ) }}

),

call_footprint as (

    select all_call_footprint.*
    from all_call_footprint
    where {{ task_watts.in_refreshed_quarter('all_call_footprint.started_at') }}

),

quarter_tasks as (

    select task_footprint.*
    from task_footprint
    where {{ task_watts.in_refreshed_quarter('task_footprint.started_at') }}

),

{% else %}

    call_footprint as (

        select * from all_call_footprint

    ),

    quarter_tasks as (

        select * from task_footprint

    ),

{% endif %}

deferrable_calls as (

    select
        call_footprint.feature,
        cast({{ dbt.date_trunc('quarter', 'call_footprint.started_at') }} as date) as quarter_start,
        cast(call_footprint.started_at as date) as call_date,
        call_footprint.model,
        coalesce(call_footprint.gpu_type, 'vendor') as accelerator,
        call_footprint.region,
        call_footprint.grid_zone,
        call_footprint.grid_period,
        call_footprint.it_wh,
        call_footprint.facility_wh,
        call_footprint.gco2e_location,
        call_footprint.grid_gco2e_per_kwh

    from call_footprint
    inner join feature_catalogue
        on call_footprint.feature = feature_catalogue.feature
    inner join task_footprint
        on call_footprint.task_id = task_footprint.task_id
    where feature_catalogue.is_deferrable and not task_footprint.is_pending

),

daily_lowest_hour as (

    select
        grid_zone,
        cast(hour_start_at as date) as intensity_date,
        min(gco2e_per_kwh) as lowest_gco2e_per_kwh

    from grid_intensity_hourly
    group by grid_zone, cast(hour_start_at as date)

),

time_shifted as (

    select
        deferrable_calls.feature,
        deferrable_calls.quarter_start,
        count(*) as calls,
        sum(deferrable_calls.facility_wh) as facility_wh,
        sum(deferrable_calls.it_wh) as it_wh,
        sum(deferrable_calls.gco2e_location) as gco2e_location,
        sum(case when deferrable_calls.grid_period = 'hour' then deferrable_calls.facility_wh else 0 end)
            as hourly_facility_wh,
        sum(
            case
                when
                    deferrable_calls.grid_period = 'hour'
                    and daily_lowest_hour.lowest_gco2e_per_kwh is not null
                    then
                        deferrable_calls.facility_wh / 1000.0
                        * least(daily_lowest_hour.lowest_gco2e_per_kwh, deferrable_calls.grid_gco2e_per_kwh)
                else deferrable_calls.gco2e_location
            end
        ) as time_shifted_gco2e,
        min(deferrable_calls.region) as current_region,
        count(distinct deferrable_calls.region) as current_regions

    from deferrable_calls
    left join daily_lowest_hour
        on
            deferrable_calls.grid_zone = daily_lowest_hour.grid_zone
            and deferrable_calls.call_date = daily_lowest_hour.intensity_date
    group by deferrable_calls.feature, deferrable_calls.quarter_start

),

region_quarter as (

    select
        cast({{ dbt.date_trunc('quarter', 'started_at') }} as date) as quarter_start,
        model,
        coalesce(gpu_type, 'vendor') as accelerator,
        region,
        max(pue) as pue,
        sum(gco2e_location) * 1000.0 / nullif(sum(facility_wh), 0) as mean_gco2e_per_kwh

    from call_footprint
    group by
        cast({{ dbt.date_trunc('quarter', 'started_at') }} as date),
        model,
        coalesce(gpu_type, 'vendor'),
        region

),

feature_model_energy as (

    select
        feature,
        quarter_start,
        model,
        accelerator,
        sum(it_wh) as it_wh

    from deferrable_calls
    group by feature, quarter_start, model, accelerator

),

place_options as (

    select
        feature_model_energy.feature,
        feature_model_energy.quarter_start,
        region_quarter.region,
        sum(feature_model_energy.it_wh * region_quarter.pue / 1000.0 * region_quarter.mean_gco2e_per_kwh)
            as place_shifted_gco2e,
        count(*) as models_covered

    from feature_model_energy
    inner join region_quarter
        on
            feature_model_energy.quarter_start = region_quarter.quarter_start
            and feature_model_energy.model = region_quarter.model
            and feature_model_energy.accelerator = region_quarter.accelerator
    group by feature_model_energy.feature, feature_model_energy.quarter_start, region_quarter.region

),

models_per_feature as (

    select
        feature,
        quarter_start,
        count(*) as models

    from feature_model_energy
    group by feature, quarter_start

),

best_place as (

    select
        place_options.feature,
        place_options.quarter_start,
        place_options.region as best_region,
        place_options.place_shifted_gco2e,
        row_number() over (
            partition by place_options.feature, place_options.quarter_start
            order by place_options.place_shifted_gco2e asc, place_options.region asc
        ) as place_rank

    from place_options
    inner join models_per_feature
        on
            place_options.feature = models_per_feature.feature
            and place_options.quarter_start = models_per_feature.quarter_start
            -- a region qualifies only if it serves every model the feature used
            and place_options.models_covered = models_per_feature.models

),

completed as (

    select
        feature,
        cast({{ dbt.date_trunc('quarter', 'started_at') }} as date) as quarter_start,
        sum(case when is_completed then 1 else 0 end) as completed_tasks

    from quarter_tasks
    where not is_pending
    group by feature, cast({{ dbt.date_trunc('quarter', 'started_at') }} as date)

),

combined as (

    select
        time_shifted.feature,
        time_shifted.quarter_start,
        time_shifted.current_region,
        time_shifted.current_regions,
        time_shifted.calls,
        completed.completed_tasks,
        time_shifted.facility_wh,
        time_shifted.gco2e_location,
        time_shifted.hourly_facility_wh / nullif(time_shifted.facility_wh, 0) as hourly_coverage_share,
        time_shifted.time_shifted_gco2e,
        best_place.best_region,
        -- the current placement is always an option, so a place shift never costs more
        least(coalesce(best_place.place_shifted_gco2e, time_shifted.gco2e_location), time_shifted.gco2e_location)
            as place_shifted_gco2e

    from time_shifted
    left join best_place
        on
            time_shifted.feature = best_place.feature
            and time_shifted.quarter_start = best_place.quarter_start
            and best_place.place_rank = 1
    left join completed
        on
            time_shifted.feature = completed.feature
            and time_shifted.quarter_start = completed.quarter_start

),

final as (

    select
        feature || '|' || cast(quarter_start as string) as feature_quarter_id,
        feature,
        quarter_start,
        {{ task_watts.quarter_label('quarter_start') }} as quarter_label,
        current_region,
        current_regions,
        calls,
        completed_tasks,
        facility_wh,
        gco2e_location,
        hourly_coverage_share,
        time_shifted_gco2e,
        {{ task_watts.saving('gco2e_location', 'time_shifted_gco2e') }} as time_saving_gco2e,
        {{ task_watts.saving('gco2e_location', 'time_shifted_gco2e') }} / nullif(gco2e_location, 0)
            as time_saving_share,
        case when place_shifted_gco2e < gco2e_location then best_region else current_region end as best_region,
        place_shifted_gco2e,
        {{ task_watts.saving('gco2e_location', 'place_shifted_gco2e') }} as place_saving_gco2e,
        {{ task_watts.saving('gco2e_location', 'place_shifted_gco2e') }} / nullif(gco2e_location, 0)
            as place_saving_share,
        case
            -- a saving within summation noise of zero is no saving
            when least(time_shifted_gco2e, place_shifted_gco2e) >= gco2e_location * (1 - 1e-9) then 'none'
            when time_shifted_gco2e <= place_shifted_gco2e then 'time'
            else 'place'
        end as best_option,
        {{ task_watts.saving('gco2e_location', 'least(time_shifted_gco2e, place_shifted_gco2e)') }}
            as best_saving_gco2e,
        {{ task_watts.saving('gco2e_location', 'least(time_shifted_gco2e, place_shifted_gco2e)') }}
        / nullif(gco2e_location, 0) as best_saving_share,
        gco2e_location / nullif(completed_tasks, 0) as task_gco2e,
        least(time_shifted_gco2e, place_shifted_gco2e) / nullif(completed_tasks, 0) as best_task_gco2e

    from combined

)

select * from final
