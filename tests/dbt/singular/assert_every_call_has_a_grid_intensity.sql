{#
    Every call's region must map to a grid zone, and that zone must have an
    intensity for the call's hour, month or a year at or before it.
#}

with

priced_calls as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

final as (

    select
        region,
        grid_zone,
        count(*) as calls_without_intensity,
        min(started_at) as first_started_at,
        min(call_id) as example_call_id
    from priced_calls
    where grid_gco2e_per_kwh is null or pue is null or host_overhead is null
    group by region, grid_zone

)

select * from final
