with

batch_size_efficiency as (

    select * from {{ ref('batch_size_efficiency') }}

),

final as (

    select
        batch_size as batch_size_from,
        lead(batch_size) over (order by batch_size) as batch_size_to,
        relative_energy_per_token as relative_energy_from,
        lead(relative_energy_per_token) over (order by batch_size) as relative_energy_to

    from batch_size_efficiency

)

select * from final
