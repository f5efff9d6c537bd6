{#
    Model x accelerator x quarter: the figures a model card or a procurement
    comparison needs - output tokens per accelerator Wh, facility Wh and
    location-based gCO2e per 1,000 tokens, each with its low/high bounds, and
    how the figure was obtained (measured by our serving layer, modeled from
    public benchmarks, or estimated for a vendor API that discloses nothing).
    Rows of the same tier sit side by side for comparing vendors.
#}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

calls as (

    select
        model,
        model_tier,
        provider,
        coalesce(gpu_type, 'vendor') as accelerator,
        cast({{ dbt.date_trunc('quarter', 'started_at') }} as date) as quarter_start,
        region,
        grid_zone,
        energy_method,
        input_tokens,
        output_tokens,
        accelerator_wh,
        accelerator_wh_low,
        accelerator_wh_high,
        facility_wh,
        facility_wh_low,
        facility_wh_high,
        gco2e_location,
        gco2e_location_low,
        gco2e_location_high,
        gco2e_embodied

    from call_footprint

),

regions as (

    select distinct
        model,
        accelerator,
        quarter_start,
        region || ' (' || grid_zone || ')' as region_zone

    from calls

),

region_lists as (

    select
        model,
        accelerator,
        quarter_start,
        {{ dbt.listagg('region_zone', "', '", 'order by region_zone') }} as regions

    from regions
    group by model, accelerator, quarter_start

),

quarterly as (

    select
        model,
        model_tier,
        provider,
        accelerator,
        quarter_start,
        count(*) as calls,
        sum(case when energy_method = 'measured' then 1 else 0 end) as measured_calls,
        sum(case when energy_method = 'estimated' then 1 else 0 end) as estimated_calls,
        sum(input_tokens) as input_tokens,
        sum(output_tokens) as output_tokens,
        sum(accelerator_wh) as accelerator_wh,
        sum(accelerator_wh_low) as accelerator_wh_low,
        sum(accelerator_wh_high) as accelerator_wh_high,
        sum(facility_wh) as facility_wh,
        sum(facility_wh_low) as facility_wh_low,
        sum(facility_wh_high) as facility_wh_high,
        sum(gco2e_location) as gco2e_location,
        sum(gco2e_location_low) as gco2e_location_low,
        sum(gco2e_location_high) as gco2e_location_high,
        sum(gco2e_embodied) as gco2e_embodied

    from calls
    group by model, model_tier, provider, accelerator, quarter_start

),

final as (

    select
        quarterly.model || '|' || quarterly.accelerator || '|' || cast(quarterly.quarter_start as varchar)
            as model_card_id,
        quarterly.model,
        quarterly.model_tier,
        quarterly.provider,
        quarterly.accelerator,
        quarterly.quarter_start,
        {{ task_watts.quarter_label('quarterly.quarter_start') }} as quarter_label,
        region_lists.regions,
        quarterly.calls,
        quarterly.measured_calls,
        quarterly.estimated_calls,
        case
            when quarterly.estimated_calls = quarterly.calls then 'estimated'
            when quarterly.measured_calls = quarterly.calls then 'measured'
            when quarterly.measured_calls > 0 then 'mixed'
            else 'modeled'
        end as energy_method,
        -- a vendor API priced from estimates has published no per-model energy figure
        quarterly.provider != 'self_hosted' and quarterly.estimated_calls > 0 as is_disclosure_missing,
        quarterly.input_tokens,
        quarterly.output_tokens,
        quarterly.accelerator_wh,
        quarterly.facility_wh,
        quarterly.gco2e_location,
        quarterly.gco2e_embodied,
        quarterly.output_tokens / nullif(quarterly.accelerator_wh, 0) as output_tokens_per_accelerator_wh,
        quarterly.output_tokens / nullif(quarterly.accelerator_wh_high, 0)
            as output_tokens_per_accelerator_wh_low,
        quarterly.output_tokens / nullif(quarterly.accelerator_wh_low, 0)
            as output_tokens_per_accelerator_wh_high,
        quarterly.facility_wh * 1000.0 / nullif(quarterly.input_tokens + quarterly.output_tokens, 0)
            as facility_wh_per_1k_tokens,
        quarterly.facility_wh_low * 1000.0 / nullif(quarterly.input_tokens + quarterly.output_tokens, 0)
            as facility_wh_per_1k_tokens_low,
        quarterly.facility_wh_high * 1000.0 / nullif(quarterly.input_tokens + quarterly.output_tokens, 0)
            as facility_wh_per_1k_tokens_high,
        quarterly.gco2e_location * 1000.0 / nullif(quarterly.input_tokens + quarterly.output_tokens, 0)
            as gco2e_per_1k_tokens,
        quarterly.gco2e_location_low * 1000.0 / nullif(quarterly.input_tokens + quarterly.output_tokens, 0)
            as gco2e_per_1k_tokens_low,
        quarterly.gco2e_location_high * 1000.0 / nullif(quarterly.input_tokens + quarterly.output_tokens, 0)
            as gco2e_per_1k_tokens_high,
        quarterly.gco2e_location * 1000.0 / nullif(quarterly.facility_wh, 0) as mean_grid_gco2e_per_kwh

    from quarterly
    left join region_lists
        on
            quarterly.model = region_lists.model
            and quarterly.accelerator = region_lists.accelerator
            and quarterly.quarter_start = region_lists.quarter_start

)

select * from final
