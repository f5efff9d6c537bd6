{#
    Attach to every call the coefficients that price it: model energy per token
    (with bounds), the batch-size curve at the call's batch (or, when the call
    logged none, at its deployment's assumed batch and across the deployment's
    plausible range) and at the coefficient's batch, the prefix-cache residual,
    the region's PUE / WUE / host overhead (with bounds), the finest grid
    intensity covering the call, and the accelerator's idle and rated power and
    embodied carbon. The arithmetic itself lives in python_helpers.formula.footprint, once.
#}

-- depends_on: {{ ref('int_task_events__accepted') }}
{{ config(materialized='view') }}
{#
    A view, never stored: fct_inference_call_footprint is the one table of
    priced calls. It holds the calls of the current load: every call in a
    full build; in a daily load the day's calls and the earlier calls of
    every task the day's events touched (a late completion, or events that
    arrived after their calls), which is what the incremental call fact
    rewrites. Changing a coefficient seed needs a full build to reprice history.
#}

with

joined_calls as (

    select * from {{ ref('int_inference_calls__joined_to_tasks') }}

),

accepted_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

model_energy_coefficients as (

    select * from {{ ref('model_energy_coefficients') }}

),

batch_bands as (

    select * from {{ ref('int_batch_size_efficiency__bands') }}

),

prefix_cache_residual as (

    select * from {{ ref('prefix_cache_residual') }}

),

datacenter_regions as (

    select * from {{ ref('datacenter_regions') }}

),

grid_carbon_intensity as (

    select * from {{ ref('grid_carbon_intensity') }}

),

grid_intensity_hourly as (

    select * from {{ ref('stg_telemetry__grid_intensity_hourly') }}

),

accelerators as (

    select * from {{ ref('accelerators') }}

),

deployment_batch_sizes as (

    select * from {{ ref('deployment_batch_sizes') }}

),

{% if task_watts.is_daily_load() %}

touched_tasks as (

    select distinct task_id
    from {{ ref('int_task_events__accepted') }}
    where batch_date = {{ task_watts.batch_date_literal() }}

),

calls as (

    select * from joined_calls
    where
        batch_date = {{ task_watts.batch_date_literal() }}
        or task_id in (select touched_tasks.task_id from touched_tasks)

),

{% else %}

    calls as (

        select * from joined_calls

    ),

{% endif %}

default_cache_residual as (

    select
        cache_residual,
        cache_residual_low,
        cache_residual_high
    from prefix_cache_residual
    where cache_scope = 'default'

),

calls_with_coefficients as (

    select
        calls.*,
        model_energy_coefficients.model_tier,
        model_energy_coefficients.energy_method as coefficient_method,
        model_energy_coefficients.reference_batch_size,
        model_energy_coefficients.wh_per_1k_prefill_tokens,
        model_energy_coefficients.wh_per_1k_prefill_tokens_low,
        model_energy_coefficients.wh_per_1k_prefill_tokens_high,
        model_energy_coefficients.wh_per_1k_decode_tokens,
        model_energy_coefficients.wh_per_1k_decode_tokens_low,
        model_energy_coefficients.wh_per_1k_decode_tokens_high,
        coalesce(calls.gpu_type, model_energy_coefficients.proxy_gpu_type) as replica_gpu_type,
        calls.batch_size is null as is_batch_size_assumed,
        -- A vendor's per-token estimate already embeds the vendor's batching,
        -- so an unknown vendor batch is the coefficient's own reference batch
        -- (its uncertainty is in the coefficient's bounds). A self-hosted call
        -- that logged none takes its deployment's declared batch, and its
        -- bounds span the deployment's plausible range.
        {%- for suffix, deployment_column, fallback in [
            ('', 'assumed_batch_size', 'assumed_batch_size'),
            ('_min', 'batch_size_low', 'assumed_batch_size_low'),
            ('_max', 'batch_size_high', 'assumed_batch_size_high'),
        ] %}
            coalesce(
                calls.batch_size,
                case
                    when model_energy_coefficients.energy_method = 'estimated'
                        then model_energy_coefficients.reference_batch_size
                end,
                deployment_batch_sizes.{{ deployment_column }},
                {{ var(fallback) }}
            ) as effective_batch_size{{ suffix }},
        {%- endfor %}
        coalesce(
            calls.gpu_count,
            model_energy_coefficients.gpus_per_replica,
            model_energy_coefficients.proxy_gpu_count
        ) as replica_gpu_count,
        default_cache_residual.cache_residual,
        default_cache_residual.cache_residual_low,
        default_cache_residual.cache_residual_high,
        datacenter_regions.grid_zone,
        datacenter_regions.pue,
        datacenter_regions.wue_l_per_kwh,
        datacenter_regions.host_overhead,
        datacenter_regions.host_overhead_low,
        datacenter_regions.host_overhead_high,
        datacenter_regions.market_gco2e_per_kwh,
        -- microseconds, as logged: the idle floor and the power check divide by it
        {{ task_watts.timestamp_diff('microsecond', 'calls.started_at', 'calls.ended_at') }}
        / 3.6e9 as call_hours,
        -- the daily load that priced the call (null: a full build did): the load's tests read
        -- only its own rows, found by this column's min/max without a join
        {% if task_watts.is_daily_load() -%}
            {{ task_watts.batch_date_literal() }}
        {%- else -%}
            cast(null as date)
        {%- endif %} as load_batch_date

    from calls
    left join model_energy_coefficients
        on
            calls.model = model_energy_coefficients.model
            and coalesce(calls.gpu_type, '') = coalesce(model_energy_coefficients.gpu_type, '')
    left join datacenter_regions
        on calls.region = datacenter_regions.region
    left join deployment_batch_sizes
        on
            calls.model = deployment_batch_sizes.model
            and coalesce(calls.gpu_type, '') = coalesce(deployment_batch_sizes.gpu_type, '')
            and calls.region = deployment_batch_sizes.region
    left join default_cache_residual
        on 1 = 1

),

-- Annual figures are published late: a call is priced with the latest year
-- published at or before it (the year used is recorded, never hidden).
call_years as (

    select distinct cast({{ dbt.date_trunc('year', 'started_at') }} as date) as call_year_start
    from accepted_calls

),

grid_zones as (

    select distinct grid_zone from datacenter_regions

),

call_zone_years as (

    select
        grid_zones.grid_zone,
        call_years.call_year_start
    from call_years
    cross join grid_zones

),

-- Every batch size a call can be priced at (logged, deployment, reference or assumed), read
-- off the curve once here; the calls then join it on equality, four times over.
batch_sizes as (

    select batch_size from accepted_calls
    union
    select reference_batch_size from model_energy_coefficients
    union
    select assumed_batch_size from deployment_batch_sizes
    union
    select batch_size_low from deployment_batch_sizes
    union
    select batch_size_high from deployment_batch_sizes
    union
    select {{ var('assumed_batch_size') }}
    union
    select {{ var('assumed_batch_size_low') }}
    union
    select {{ var('assumed_batch_size_high') }}

),

batch_curve as (

    select
        batch_sizes.batch_size,
        {{ task_watts.batch_curve_value('bands', 'batch_sizes.batch_size') }} as relative_energy
    from batch_sizes
    {{ task_watts.batch_curve_join('batch_bands', 'bands', 'batch_sizes.batch_size') }}
    where batch_sizes.batch_size is not null

),

annual_intensity_ranked as (

    select
        call_zone_years.grid_zone,
        call_zone_years.call_year_start,
        grid_carbon_intensity.period_start,
        grid_carbon_intensity.gco2e_per_kwh,
        row_number() over (
            partition by call_zone_years.grid_zone, call_zone_years.call_year_start
            order by grid_carbon_intensity.period_start desc
        ) as recency_rank
    from call_zone_years
    inner join grid_carbon_intensity
        on
            call_zone_years.grid_zone = grid_carbon_intensity.grid_zone
            and call_zone_years.call_year_start >= grid_carbon_intensity.period_start
    where
        grid_carbon_intensity.period_grain = 'year'
        and grid_carbon_intensity.basis = 'location'

),

annual_intensity as (

    select * from annual_intensity_ranked
    where recency_rank = 1

),

monthly_intensity as (

    select
        grid_zone,
        period_start,
        gco2e_per_kwh
    from grid_carbon_intensity
    where
        period_grain = 'month'
        and basis = 'location'

),

final as (

    select
        calls_with_coefficients.*,
        coalesce(
            grid_intensity_hourly.gco2e_per_kwh,
            monthly_intensity.gco2e_per_kwh,
            annual_intensity.gco2e_per_kwh
        ) as grid_gco2e_per_kwh,
        case
            when grid_intensity_hourly.gco2e_per_kwh is not null then 'hour'
            when monthly_intensity.gco2e_per_kwh is not null then 'month'
            when annual_intensity.gco2e_per_kwh is not null then 'year'
        end as grid_period,
        coalesce(
            grid_intensity_hourly.hour_start_at,
            cast(monthly_intensity.period_start as timestamp),
            cast(annual_intensity.period_start as timestamp)
        ) as grid_period_start,
        coalesce(
            grid_intensity_hourly.gco2e_per_kwh is null
            and monthly_intensity.gco2e_per_kwh is null
            and annual_intensity.period_start < annual_intensity.call_year_start,
            false
        ) as is_grid_intensity_carried_forward,
        batch_at_call.relative_energy as relative_energy_at_batch,
        -- The low energy bound runs at the largest plausible batch, the high
        -- bound at the smallest.
        batch_at_max.relative_energy as relative_energy_at_batch_low,
        batch_at_min.relative_energy as relative_energy_at_batch_high,
        batch_at_reference.relative_energy as relative_energy_at_reference_batch,
        -- The power envelope is physics only where the hardware is known: a
        -- vendor's proxy GPUs are an assumption for embodied carbon, not a
        -- record of what served the call.
        case
            when calls_with_coefficients.coefficient_method = 'modeled' then accelerators.idle_w
        end as gpu_idle_w,
        case
            when calls_with_coefficients.coefficient_method = 'modeled' then accelerators.tdp_w
        end as gpu_tdp_w,
        (accelerators.embodied_kgco2e_gpu + accelerators.embodied_kgco2e_server_share)
        * 1000.0 as embodied_gco2e_per_gpu,
        accelerators.lifetime_years * 8760.0 as gpu_lifetime_hours

    from calls_with_coefficients
    left join grid_intensity_hourly
        on
            calls_with_coefficients.grid_zone = grid_intensity_hourly.grid_zone
            and {{ dbt.date_trunc('hour', 'calls_with_coefficients.started_at') }}
            = grid_intensity_hourly.hour_start_at
    left join monthly_intensity
        on
            calls_with_coefficients.grid_zone = monthly_intensity.grid_zone
            and cast({{ dbt.date_trunc('month', 'calls_with_coefficients.started_at') }} as date)
            = monthly_intensity.period_start
    left join annual_intensity
        on
            calls_with_coefficients.grid_zone = annual_intensity.grid_zone
            and cast({{ dbt.date_trunc('year', 'calls_with_coefficients.started_at') }} as date)
            = annual_intensity.call_year_start
    left join batch_curve as batch_at_call
        on calls_with_coefficients.effective_batch_size = batch_at_call.batch_size
    left join batch_curve as batch_at_max
        on calls_with_coefficients.effective_batch_size_max = batch_at_max.batch_size
    left join batch_curve as batch_at_min
        on calls_with_coefficients.effective_batch_size_min = batch_at_min.batch_size
    left join batch_curve as batch_at_reference
        on calls_with_coefficients.reference_batch_size = batch_at_reference.batch_size
    left join accelerators
        on calls_with_coefficients.replica_gpu_type = accelerators.gpu_type

)

select * from final
