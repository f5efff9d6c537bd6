{{ config(severity='warn') }}
{#
    A self-hosted call priced by the token model must imply an average power
    per GPU (its energy over its share of the replica's GPU-hours) between the
    GPU's idle and rated power. The floor is applied in the formula; a call
    above the rated power means its latency, batch or token counts are
    inconsistent (for example a batch assumed larger than the call could have
    shared). A warning, so real telemetry still builds; the sample must show none.
#}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

final as (

    select
        call_id,
        model,
        gpu_type,
        effective_batch_size,
        is_batch_size_assumed,
        implied_gpu_power_w,
        gpu_idle_w,
        gpu_tdp_w
    from call_footprint
    where
        energy_method = 'modeled'
        and (
            implied_gpu_power_w > gpu_tdp_w * (1 + 1e-9)
            or implied_gpu_power_w < gpu_idle_w * (1 - 1e-9)
        )

)

select * from final
