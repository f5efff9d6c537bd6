{#
    Feature x quarter x batch-size band: where a feature's energy went by the
    batch the serving engine ran at (one of the three levers). Bands follow
    the shape of the batch-efficiency curve: batch 1 is the costliest per
    token, gains flatten past 64. Calls that logged no batch size form their
    own band, so assumed batches are never shown as observed ones.
#}

with

call_footprint as (

    select * from {{ ref('fct_inference_call_footprint') }}

),

banded as (

    select
        feature,
        cast({{ dbt.date_trunc('quarter', 'started_at') }} as date) as quarter_start,
        case
            when batch_size is null then 'unknown'
            when batch_size <= 1 then '1'
            when batch_size <= 4 then '2-4'
            when batch_size <= 16 then '5-16'
            when batch_size <= 64 then '17-64'
            else '65+'
        end as batch_size_band,
        case
            when batch_size is null then 6
            when batch_size <= 1 then 1
            when batch_size <= 4 then 2
            when batch_size <= 16 then 3
            when batch_size <= 64 then 4
            else 5
        end as batch_size_band_order,
        facility_wh,
        output_tokens

    from call_footprint
    where has_task

),

by_band as (

    select
        feature,
        quarter_start,
        batch_size_band,
        batch_size_band_order,
        count(*) as calls,
        sum(facility_wh) as facility_wh,
        sum(output_tokens) as output_tokens

    from banded
    group by feature, quarter_start, batch_size_band, batch_size_band_order

),

final as (

    select
        feature || '|' || cast(quarter_start as string) || '|' || batch_size_band as feature_quarter_band_id,
        feature,
        quarter_start,
        {{ task_watts.quarter_label('quarter_start') }} as quarter_label,
        batch_size_band,
        batch_size_band_order,
        calls,
        facility_wh,
        output_tokens,
        facility_wh / nullif(sum(facility_wh) over (partition by feature, quarter_start), 0)
            as energy_share,
        facility_wh * 1000.0 / nullif(output_tokens, 0) as facility_wh_per_1k_output_tokens

    from by_band

)

select * from final
