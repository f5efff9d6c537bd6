{#
    Every (model, gpu_type) that served a call must be priced by a coefficient
    row. Calls without one are quarantined (unknown_model) before they are
    accepted, so a row here means that routing broke.
#}

with

inference_calls as (

    select * from {{ ref('int_inference_calls__accepted') }}

),

model_energy_coefficients as (

    select * from {{ ref('model_energy_coefficients') }}

),

final as (

    select
        inference_calls.model,
        inference_calls.gpu_type,
        count(*) as calls_without_coefficient,
        min(inference_calls.call_id) as example_call_id
    from inference_calls
    left join model_energy_coefficients
        on
            inference_calls.model = model_energy_coefficients.model
            and coalesce(inference_calls.gpu_type, '') = coalesce(model_energy_coefficients.gpu_type, '')
    where model_energy_coefficients.model is null
    group by inference_calls.model, inference_calls.gpu_type

)

select * from final
