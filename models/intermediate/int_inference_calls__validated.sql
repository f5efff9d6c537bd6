{#
    Every staged call of the current load with the outcome of each row-level
    rule (one flag per quarantine reason). Rows failing any rejecting rule go
    to the quarantine instead of the footprint; a call without a task_id is
    only flagged (no_task): it is priced as unattributed energy. Of several
    copies of one call_id that pass the rules, the first by (batch day, start,
    content) is kept: the same winner whatever the file order.
#}

with

calls as (

    select * from {{ ref('stg_telemetry__inference_calls') }}

),

model_energy_coefficients as (

    select distinct
        model,
        gpu_type
    from {{ ref('model_energy_coefficients') }}

),

datacenter_regions as (

    select distinct region from {{ ref('datacenter_regions') }}

),

checked as (

    select
        calls.*,
        calls.ended_at < calls.started_at
        or {{ is_bad_timestamp('calls.started_at', 'calls.batch_date') }}
        or {{ is_bad_timestamp('calls.ended_at', 'calls.batch_date') }} as is_bad_timestamp,
        least(calls.input_tokens, calls.cached_input_tokens, calls.output_tokens) < 0
            as is_negative_tokens,
        calls.cached_input_tokens > calls.input_tokens as is_cached_gt_input,
        greatest(calls.input_tokens, calls.cached_input_tokens, calls.output_tokens)
        > {{ var('max_tokens_per_call') }} as is_tokens_out_of_range,
        model_energy_coefficients.model is null as is_unknown_model,
        datacenter_regions.region is null as is_unknown_region,
        calls.status not in (
            {{ task_watts.quoted_list(var('call_statuses')) }}
        ) as is_unknown_status,
        coalesce(
            calls.gpu_count < 1 or calls.batch_size < 1 or calls.measured_energy_j < 0
            -- NaN sorts above every number and passes a range check on its own
            or {{ task_watts.is_non_finite('calls.measured_energy_j') }},
            false
        ) as is_invalid_value,
        calls.task_id is null as is_no_task

    from calls
    left join model_energy_coefficients
        on
            calls.model = model_energy_coefficients.model
            and coalesce(calls.gpu_type, '') = coalesce(model_energy_coefficients.gpu_type, '')
    left join datacenter_regions
        on calls.region = datacenter_regions.region

),

{{ task_watts.row_verdict(
    ['is_bad_timestamp', 'is_negative_tokens', 'is_cached_gt_input', 'is_tokens_out_of_range', 'is_unknown_model', 'is_unknown_region', 'is_unknown_status', 'is_invalid_value'],
    'call_id', 'started_at', 'is_duplicate_call',
) }}

select * from final
