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

    Every figure is a sum (or a max, or a count of regions), so the mart is
    summed from the day-grain int_inference_calls__shifting_days and the
    completed tasks of mart_feature_task_watts, both kept incrementally: the
    table is small and rebuilt whole on every load.
#}

with

shifting_days as (

    select * from {{ ref('int_inference_calls__shifting_days') }}

),

feature_task_days as (

    select * from {{ ref('mart_feature_task_watts') }}

),

shiftable_days as (

    select
        *,
        cast({{ dbt.date_trunc('quarter', 'call_date') }} as date) as quarter_start
    from shifting_days
    where shiftable_calls > 0

),

time_shifted as (

    select
        feature,
        quarter_start,
        -- bigint, as count(*) was (a sum of bigints is 128-bit on DuckDB)
        cast(sum(shiftable_calls) as bigint) as calls,
        sum(shiftable_facility_wh) as facility_wh,
        sum(shiftable_it_wh) as it_wh,
        sum(shiftable_gco2e_location) as gco2e_location,
        sum(shiftable_hourly_facility_wh) as hourly_facility_wh,
        sum(shiftable_time_shifted_gco2e) as time_shifted_gco2e,
        min(region) as current_region,
        count(distinct region) as current_regions

    from shiftable_days
    group by feature, quarter_start

),

region_quarter as (

    select
        cast({{ dbt.date_trunc('quarter', 'call_date') }} as date) as quarter_start,
        model,
        accelerator,
        region,
        max(pue) as pue,
        sum(gco2e_location) * 1000.0 / nullif(sum(facility_wh), 0) as mean_gco2e_per_kwh

    from shifting_days
    group by
        cast({{ dbt.date_trunc('quarter', 'call_date') }} as date),
        model,
        accelerator,
        region

),

feature_model_energy as (

    select
        feature,
        quarter_start,
        model,
        accelerator,
        sum(shiftable_it_wh) as it_wh

    from shiftable_days
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
        cast({{ dbt.date_trunc('quarter', 'task_date') }} as date) as quarter_start,
        sum(completed_tasks) as completed_tasks

    from feature_task_days
    group by feature, cast({{ dbt.date_trunc('quarter', 'task_date') }} as date)

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
