{#
    Energy conservation across the grain change: the facility energy of all
    calls equals the energy of all tasks plus the unattributed calls' energy
    (relative tolerance var('energy_conservation_rel_tol')), and the
    feature-day mart's matured plus pending energy equals the tasks' energy
    (pending tasks are set apart, never lost). A row comes back
    only when the books do not balance.
#}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

task_footprint as (

    select * from {{ ref('fct_task_footprint') }}

),

feature_task_watts as (

    select * from {{ ref('mart_feature_task_watts') }}

),

totals as (

    select
        (select sum(facility_wh) from call_footprint) as call_wh,
        (select sum(facility_wh) from task_footprint) as task_wh,
        (
            select coalesce(sum(facility_wh), 0) from call_footprint
            where not has_task)
            as unattributed_wh,
        (select sum(facility_wh + pending_facility_wh) from feature_task_watts) as feature_day_wh

),

final as (

    select *
    from totals
    where
        abs(call_wh - (task_wh + unattributed_wh))
        > {{ var('energy_conservation_rel_tol') }} * abs(call_wh)
        or abs(task_wh - feature_day_wh) > {{ var('energy_conservation_rel_tol') }} * abs(task_wh)

)

select * from final
