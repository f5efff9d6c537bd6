{#
    The call footprint summed per feature x call day x model x accelerator x
    region: what mart_shifting_what_if needs, kept at day grain so that a daily
    load recomputes the days it changed instead of a whole quarter of calls.

    - every call: facility Wh, location gCO2e and the PUE (the region's mean
      intensity and PUE for the place option);
    - the shiftable part: calls of deferrable features (feature catalogue)
      whose task is not pending, with the time option already applied per
      call (each hourly-priced call at the lowest hourly intensity of its own
      grid zone that day).

    Incremental: a daily load recomputes, from every call of the day, the call
    days of the calls it priced and of the tasks it refreshed (a pending task
    that matured moves its calls into the shiftable part), deleting those rows
    first; a full build rebuilds every day.
#}
-- depends_on: {{ ref('int_tasks__to_refresh') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.delete_refreshed('call_date', task_watts.refreshed_call_days(ref('fct_inference_call_footprint'), ref('int_tasks__to_refresh'))) }}",
    )
}}

with

all_call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

feature_catalogue as (

    select * from {{ ref('feature_catalogue') }}

),

grid_intensity_hourly as (

    select * from {{ ref('stg_telemetry__grid_intensity_hourly') }}

),

{% if is_incremental() %}

tasks_to_refresh as (

    select * from {{ ref('int_tasks__to_refresh') }}

),

refreshed_days as (

    {{ task_watts.refreshed_call_days('all_call_footprint', 'tasks_to_refresh') }}

),

call_footprint as (

    select all_call_footprint.*
    from all_call_footprint
    where cast(all_call_footprint.started_at as date) in (select refreshed_days.call_date from refreshed_days)

),

{% else %}

    call_footprint as (

        select * from all_call_footprint

    ),

{% endif %}

daily_lowest_hour as (

    select
        grid_zone,
        cast(hour_start_at as date) as intensity_date,
        min(gco2e_per_kwh) as lowest_gco2e_per_kwh

    from grid_intensity_hourly
    group by grid_zone, cast(hour_start_at as date)

),

calls as (

    select
        call_footprint.feature,
        cast(call_footprint.started_at as date) as call_date,
        call_footprint.model,
        coalesce(call_footprint.gpu_type, 'vendor') as accelerator,
        call_footprint.region,
        call_footprint.pue,
        call_footprint.grid_period,
        call_footprint.it_wh,
        call_footprint.facility_wh,
        call_footprint.gco2e_location,
        coalesce(feature_catalogue.is_deferrable, false)
        and task_footprint.is_pending is not null
        and not task_footprint.is_pending as is_shiftable,
        case
            when
                call_footprint.grid_period = 'hour'
                and daily_lowest_hour.lowest_gco2e_per_kwh is not null
                then
                    call_footprint.facility_wh / 1000.0
                    * least(daily_lowest_hour.lowest_gco2e_per_kwh, call_footprint.grid_gco2e_per_kwh)
            else call_footprint.gco2e_location
        end as time_shifted_gco2e

    from call_footprint
    left join feature_catalogue
        on call_footprint.feature = feature_catalogue.feature
    left join task_footprint
        on call_footprint.task_id = task_footprint.task_id
    left join daily_lowest_hour
        on
            call_footprint.grid_zone = daily_lowest_hour.grid_zone
            and cast(call_footprint.started_at as date) = daily_lowest_hour.intensity_date

),

final as (

    select
        coalesce(feature, '') || '|' || cast(call_date as string) || '|' || model || '|' || accelerator
        || '|' || region as shifting_day_id,
        feature,
        call_date,
        model,
        accelerator,
        region,
        count(*) as calls,
        max(pue) as pue,
        sum(facility_wh) as facility_wh,
        sum(gco2e_location) as gco2e_location,
        cast(sum(case when is_shiftable then 1 else 0 end) as bigint) as shiftable_calls,
        sum(case when is_shiftable then it_wh else 0 end) as shiftable_it_wh,
        sum(case when is_shiftable then facility_wh else 0 end) as shiftable_facility_wh,
        sum(case when is_shiftable then gco2e_location else 0 end) as shiftable_gco2e_location,
        sum(case when is_shiftable and grid_period = 'hour' then facility_wh else 0 end)
            as shiftable_hourly_facility_wh,
        sum(case when is_shiftable then time_shifted_gco2e else 0 end) as shiftable_time_shifted_gco2e

    from calls
    group by feature, call_date, model, accelerator, region

)

select * from final
