{#
    Model x accelerator x month: the token-per-Wh view for a model card or a
    procurement comparison. Vendor-API models have no gpu_type; their figures
    are estimates (energy_method), never measurements.
#}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

monthly as (

    select
        model,
        model_tier,
        provider,
        gpu_type,
        cast({{ dbt.date_trunc('month', 'started_at') }} as date) as month_start,
        count(*) as calls,
        sum(case when energy_method = 'measured' then 1 else 0 end) as measured_calls,
        sum(case when energy_method = 'estimated' then 1 else 0 end) as estimated_calls,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(output_tokens) as output_tokens,
        sum(accelerator_wh) as accelerator_wh,
        sum(accelerator_wh_low) as accelerator_wh_low,
        sum(accelerator_wh_high) as accelerator_wh_high,
        sum(facility_wh) as facility_wh,
        sum(gco2e_location) as gco2e_location,
        sum(case when batch_size is not null then 1 else 0 end) as calls_with_batch_size,
        sum(batch_size) as batch_size_sum

    from call_footprint
    group by model, model_tier, provider, gpu_type, cast({{ dbt.date_trunc('month', 'started_at') }} as date)

),

final as (

    select
        model || '|' || coalesce(gpu_type, 'vendor') || '|' || cast(month_start as varchar)
            as model_efficiency_id,
        model,
        model_tier,
        provider,
        gpu_type,
        month_start,
        calls,
        measured_calls,
        estimated_calls,
        case
            when estimated_calls = calls then 'estimated'
            when measured_calls = calls then 'measured'
            when measured_calls > 0 then 'mixed'
            else 'modeled'
        end as energy_method,
        input_tokens,
        cached_input_tokens,
        output_tokens,
        accelerator_wh,
        accelerator_wh_low,
        accelerator_wh_high,
        facility_wh,
        gco2e_location,
        output_tokens / nullif(accelerator_wh, 0) as output_tokens_per_accelerator_wh,
        output_tokens / nullif(accelerator_wh_high, 0) as output_tokens_per_accelerator_wh_low,
        output_tokens / nullif(accelerator_wh_low, 0) as output_tokens_per_accelerator_wh_high,
        accelerator_wh * 1000.0 / nullif(input_tokens + output_tokens, 0)
            as accelerator_wh_per_1k_tokens,
        facility_wh * 1000.0 / nullif(input_tokens + output_tokens, 0) as facility_wh_per_1k_tokens,
        gco2e_location * 1000.0 / nullif(input_tokens + output_tokens, 0) as gco2e_per_1k_tokens,
        cached_input_tokens * 1.0 / nullif(input_tokens, 0) as cache_hit_rate,
        calls_with_batch_size,
        batch_size_sum * 1.0 / nullif(calls_with_batch_size, 0) as mean_batch_size

    from monthly

)

select * from final
