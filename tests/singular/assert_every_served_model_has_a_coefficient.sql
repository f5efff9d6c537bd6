{# Every (model, gpu_type) that served a call must be priced by a coefficient row. #}

with

priced_calls as (

    select * from {{ ref('int_inference_calls__priced') }}

),

final as (

    select
        model,
        gpu_type,
        count(*) as calls_without_coefficient,
        min(call_id) as example_call_id
    from priced_calls
    where wh_per_1k_decode_tokens is null
    group by model, gpu_type

)

select * from final
