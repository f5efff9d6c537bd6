{#
    Model x accelerator x month: the figures a model card or a procurement
    comparison needs - output tokens per accelerator Wh, facility Wh and
    location-based gCO2e per 1,000 tokens, each with low/high bounds - and how
    they were obtained (measured by our serving layer, modeled from public
    benchmarks, or estimated for a vendor API that discloses nothing). Every
    figure is a ratio of sums carried alongside it, so a quarter or a year is
    the same ratio of the summed months (the semantic layer's metrics, or the
    report's roll-up).

    Incremental: a daily load recomputes only the model-months its day's calls
    fall in, deleting those rows first; a full build rebuilds every month.
#}
-- depends_on: {{ ref('int_inference_calls__accepted') }}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=(not task_watts.is_daily_load()),
        pre_hook="{{ task_watts.delete_refreshed('model_efficiency_id', task_watts.refreshed_model_months(ref('int_inference_calls__accepted'))) }}",
    )
}}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

{% if is_incremental() %}

accepted_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

refreshed_months as (

    {{ task_watts.refreshed_model_months('accepted_calls') }}

),

{% endif %}

all_calls as (

    select
        *,
        coalesce(gpu_type, 'vendor') as accelerator,
        cast({{ dbt.date_trunc('month', 'started_at') }} as date) as month_start

    from call_footprint

),

calls as (

    select * from all_calls
    {% if is_incremental() %}
        where
            model || '|' || accelerator || '|' || cast(month_start as string)
            in (select refreshed_months.model_efficiency_id from refreshed_months)
    {% endif %}

),

regions as (

    select distinct
        model,
        accelerator,
        month_start,
        region || ' (' || grid_zone || ')' as region_zone

    from calls

),

region_lists as (

    select
        model,
        accelerator,
        month_start,
        {{ task_watts.sorted_list('region_zone', "', '") }} as regions

    from regions
    group by model, accelerator, month_start

),

monthly as (

    select
        model,
        model_tier,
        provider,
        gpu_type,
        accelerator,
        month_start,
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
        sum(facility_wh_low) as facility_wh_low,
        sum(facility_wh_high) as facility_wh_high,
        sum(gco2e_location) as gco2e_location,
        sum(gco2e_location_low) as gco2e_location_low,
        sum(gco2e_location_high) as gco2e_location_high,
        sum(gco2e_embodied) as gco2e_embodied,
        sum(case when batch_size is not null then 1 else 0 end) as calls_with_batch_size,
        sum(batch_size) as batch_size_sum

    from calls
    group by model, model_tier, provider, gpu_type, accelerator, month_start

),

final as (

    select
        monthly.model || '|' || monthly.accelerator || '|' || cast(monthly.month_start as string)
            as model_efficiency_id,
        monthly.model,
        monthly.model_tier,
        monthly.provider,
        monthly.gpu_type,
        monthly.accelerator,
        monthly.month_start,
        {{ task_watts.quarter_label('monthly.month_start') }} as quarter_label,
        region_lists.regions,
        monthly.calls,
        monthly.measured_calls,
        monthly.estimated_calls,
        case
            when monthly.estimated_calls = monthly.calls then 'estimated'
            when monthly.measured_calls = monthly.calls then 'measured'
            when monthly.measured_calls > 0 then 'mixed'
            else 'modeled'
        end as energy_method,
        -- a vendor API priced from estimates has published no per-model energy figure
        monthly.provider != 'self_hosted' and monthly.estimated_calls > 0 as is_disclosure_missing,
        monthly.input_tokens,
        monthly.cached_input_tokens,
        monthly.output_tokens,
        monthly.accelerator_wh,
        monthly.accelerator_wh_low,
        monthly.accelerator_wh_high,
        monthly.facility_wh,
        monthly.facility_wh_low,
        monthly.facility_wh_high,
        monthly.gco2e_location,
        monthly.gco2e_location_low,
        monthly.gco2e_location_high,
        monthly.gco2e_embodied,
        monthly.output_tokens / nullif(monthly.accelerator_wh, 0) as output_tokens_per_accelerator_wh,
        monthly.output_tokens / nullif(monthly.accelerator_wh_high, 0)
            as output_tokens_per_accelerator_wh_low,
        monthly.output_tokens / nullif(monthly.accelerator_wh_low, 0)
            as output_tokens_per_accelerator_wh_high,
        {#- per 1,000 tokens (input + output), at the point estimate and both bounds #}
        {% for numerator, figure in [
            ('accelerator_wh', 'accelerator_wh_per_1k_tokens'),
            ('facility_wh', 'facility_wh_per_1k_tokens'),
            ('facility_wh_low', 'facility_wh_per_1k_tokens_low'),
            ('facility_wh_high', 'facility_wh_per_1k_tokens_high'),
            ('gco2e_location', 'gco2e_per_1k_tokens'),
            ('gco2e_location_low', 'gco2e_per_1k_tokens_low'),
            ('gco2e_location_high', 'gco2e_per_1k_tokens_high'),
        ] -%}
            monthly.{{ numerator }} * 1000.0 / nullif(monthly.input_tokens + monthly.output_tokens, 0)
                as {{ figure }},
        {% endfor -%}
        monthly.gco2e_location * 1000.0 / nullif(monthly.facility_wh, 0) as mean_grid_gco2e_per_kwh,
        cast(monthly.cached_input_tokens as double) / nullif(monthly.input_tokens, 0) as cache_hit_rate,
        monthly.calls_with_batch_size,
        cast(monthly.batch_size_sum as double) / nullif(monthly.calls_with_batch_size, 0) as mean_batch_size

    from monthly
    left join region_lists
        on
            monthly.model = region_lists.model
            and monthly.accelerator = region_lists.accelerator
            and monthly.month_start = region_lists.month_start

)

select * from final
