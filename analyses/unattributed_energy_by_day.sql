-- Where is energy that no task can be charged with? Calls whose task_id has no
-- product events, by day, region and model: the first place to look when the
-- maps_to_parent tolerance is raised while a tagging fix ships.

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

final as (

    select
        cast(started_at as date) as call_date,
        region,
        model,
        count(*) as unattributed_calls,
        sum(facility_wh) as unattributed_facility_wh,
        sum(gco2e_location) as unattributed_gco2e_location,
        min(call_id) as example_call_id
    from call_footprint
    where not has_task
    group by cast(started_at as date), region, model

)

select * from final
order by call_date asc, unattributed_facility_wh desc
