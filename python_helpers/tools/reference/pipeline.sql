-- The task-watts computation as one hand-written DuckDB pipeline: the yardstick the dbt
-- build is measured and checked against (python_helpers/tools/reference/__init__.py runs it).
--
-- It reads the raw files and the seed CSVs directly, applies the row rules (one quarantine
-- row per raw row and reason), de-duplicates, prices every call, rolls calls up into tasks
-- and writes the public outputs: fct_inference_call_footprint, fct_task_footprint,
-- mart_feature_task_watts, mart_model_efficiency, quarantine__inference_calls and
-- quarantine__task_events. Intermediate results are TEMP tables (never in the file).
--
-- Written from docs/formula.md, docs/inputs.md and python_helpers/formula/footprint.py, not
-- from the dbt models. The runner fills each dollar-brace placeholder: the vars of dbt_project.yml, the raw
-- readers (views calls_raw, events_raw, grid_raw), the seed folder and the timestamp
-- expressions fitting the raw columns' types. Statements are separated by a line holding
-- only ';' so the runner can time each one.

-- Seeds, as the CSVs are.
create temp table seed_coefficients as
    from read_csv('${seeds}/model_energy_coefficients.csv', header = true)
;
create temp table seed_batch_curve as
    from read_csv('${seeds}/batch_size_efficiency.csv', header = true)
;
create temp table seed_cache_residual as
    from read_csv('${seeds}/prefix_cache_residual.csv', header = true)
;
create temp table seed_regions as
    from read_csv('${seeds}/datacenter_regions.csv', header = true)
;
create temp table seed_grid as
    from read_csv('${seeds}/grid_carbon_intensity.csv', header = true,
                  types = {'period_start': 'DATE', 'gco2e_per_kwh': 'DOUBLE'})
;
create temp table seed_accelerators as
    from read_csv('${seeds}/accelerators.csv', header = true)
;
create temp table seed_features as
    from read_csv('${seeds}/feature_catalogue.csv', header = true)
;
create temp table seed_deployments as
    from read_csv('${seeds}/deployment_batch_sizes.csv', header = true)
;
-- Row-level timestamp rule: in the future, or outside the batch day's window (a flat folder
-- has no batch day: only the future is checked).
create temp macro is_bad_ts(ts, day) as
    ts > cast(current_timestamp as timestamp) + to_minutes(${timestamp_tolerance_minutes})
    or (day is not null and (
        ts < cast(day as timestamp) - to_days(${late_arrival_lookback_days})
        or ts >= cast(day as timestamp) + to_days(1) + to_minutes(${timestamp_tolerance_minutes})
    ))
;
create temp macro clean_id(x) as nullif(trim(cast(x as varchar), ${blank_chars}), '')
;
-- Calls: typed, with one flag per rule.
create temp table calls_checked as
with typed as (
    select
        clean_id(call_id) as call_id,
        clean_id(task_id) as task_id,
        ${started_at} as started_at,
        ${ended_at} as ended_at,
        cast(model as varchar) as model,
        lower(cast(provider as varchar)) as provider,
        cast(region as varchar) as region,
        clean_id(gpu_type) as gpu_type,
        cast(gpu_count as integer) as gpu_count,
        cast(batch_size as integer) as batch_size,
        cast(input_tokens as bigint) as input_tokens,
        cast(cached_input_tokens as bigint) as cached_input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        lower(cast(status as varchar)) as status,
        cast(measured_energy_j as double) as measured_energy_j,
        filename as source_file,
        try_cast(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})', 1) as date) as batch_date
    from calls_raw
),
known_models as (select distinct model, coalesce(gpu_type, '') as gpu_key from seed_coefficients),
flagged as (
    select
        typed.*,
        typed.ended_at < typed.started_at
            or is_bad_ts(typed.started_at, typed.batch_date)
            or is_bad_ts(typed.ended_at, typed.batch_date) as f_bad_timestamp,
        least(input_tokens, cached_input_tokens, output_tokens) < 0 as f_negative_tokens,
        cached_input_tokens > input_tokens as f_cached_gt_input,
        greatest(input_tokens, cached_input_tokens, output_tokens) > ${max_tokens_per_call}
            as f_tokens_out_of_range,
        known_models.model is null as f_unknown_model,
        -- a NULL key is unknown too (no seed row matches it)
        coalesce(typed.region not in (select region from seed_regions), true) as f_unknown_region,
        status not in (${call_statuses}) as f_unknown_status,
        coalesce(gpu_count < 1 or batch_size < 1 or measured_energy_j < 0
                 or not isfinite(measured_energy_j), false) as f_invalid_value,
        typed.task_id is null as f_no_task
    from typed
    left join known_models
        on typed.model = known_models.model and coalesce(typed.gpu_type, '') = known_models.gpu_key
)
select
    *,
    not coalesce(f_bad_timestamp or f_negative_tokens or f_cached_gt_input
                 or f_tokens_out_of_range or f_unknown_model or f_unknown_region
                 or f_unknown_status or f_invalid_value, false) as passes
from flagged
;
-- Of several passing copies of one call_id the first (batch day, start, content) wins; the
-- ranking only runs over the ids that occur more than once.
create temp table call_duplicates as
select rowid as row_no
from calls_checked
where passes and call_id in (
    select call_id from calls_checked where passes group by call_id having count(*) > 1
)
qualify row_number() over (
    partition by call_id
    order by batch_date asc nulls first, started_at,
        md5(concat_ws('|', call_id, task_id, started_at, ended_at, model, provider, region,
            gpu_type, gpu_count, batch_size, input_tokens, cached_input_tokens, output_tokens,
            status, measured_energy_j)),
        source_file, rowid
) > 1
;
create temp view accepted_calls as
select * from calls_checked
where passes and rowid not in (select row_no from call_duplicates)
;
create table quarantine__inference_calls as
select
    batch_date, source_file, reason,
    not passes or is_duplicate as is_rejected,
    call_id, task_id, started_at, ended_at, model, provider, region, gpu_type, gpu_count,
    batch_size, input_tokens, cached_input_tokens, output_tokens, status, measured_energy_j
from (
    select
        *,
        unnest(list_filter([
            case when f_bad_timestamp then 'bad_timestamp' end,
            case when f_negative_tokens then 'negative_tokens' end,
            case when f_cached_gt_input then 'cached_gt_input' end,
            case when f_tokens_out_of_range then 'tokens_out_of_range' end,
            case when f_unknown_model then 'unknown_model' end,
            case when f_unknown_region then 'unknown_region' end,
            case when f_unknown_status then 'unknown_status' end,
            case when f_invalid_value then 'invalid_value' end,
            case when is_duplicate then 'duplicate_call' end,
            case when f_no_task then 'no_task' end
        ], lambda reason: reason is not null)) as reason
    from (
        select *, rowid in (select row_no from call_duplicates) as is_duplicate
        from calls_checked
    )
    where not passes or is_duplicate or f_no_task
)
;
-- Events: typed, with one flag per rule; the user id is hashed only where a row is kept.
create temp table events_checked as
with typed as (
    select
        clean_id(event_id) as event_id,
        clean_id(task_id) as task_id,
        cast(feature as varchar) as feature,
        lower(cast(event_type as varchar)) as event_type,
        ${event_at} as event_at,
        cast(user_id as varchar) as user_id,
        cast(quality_score as double) as quality_score,
        filename as source_file,
        try_cast(regexp_extract(filename, 'date=(\d{4}-\d{2}-\d{2})', 1) as date) as batch_date
    from events_raw
),
flagged as (
    select
        *,
        is_bad_ts(event_at, batch_date) as f_bad_timestamp,
        event_type not in (${event_types}) as f_unknown_event_type,
        coalesce(feature not in (select feature from seed_features), true) as f_unknown_feature,
        coalesce(quality_score < 0 or quality_score > 1 or not isfinite(quality_score), false)
            as f_invalid_value,
        task_id is null as f_missing_task_id
    from typed
)
select
    *,
    not coalesce(f_bad_timestamp or f_unknown_event_type or f_unknown_feature
                 or f_invalid_value or f_missing_task_id, false) as passes
from flagged
;
-- The keyed pseudonym the project uses (registered on this connection by the runner).
create temp macro user_hash(user_id) as task_watts_pseudonym(user_id)
;
create temp table event_duplicates as
select rowid as row_no
from events_checked
where passes and event_id in (
    select event_id from events_checked where passes group by event_id having count(*) > 1
)
qualify row_number() over (
    partition by event_id
    order by batch_date asc nulls first, event_at,
        md5(concat_ws('|', event_id, task_id, feature, event_type, event_at,
            user_hash(user_id), quality_score)),
        source_file, rowid
) > 1
;
create temp view accepted_events as
select * from events_checked
where passes and rowid not in (select row_no from event_duplicates)
;
create table quarantine__task_events as
select
    batch_date, source_file, reason, true as is_rejected,
    event_id, task_id, feature, event_type, event_at, user_hash(user_id) as user_id_hash,
    quality_score
from (
    select
        *,
        unnest(list_filter([
            case when f_bad_timestamp then 'bad_timestamp' end,
            case when f_unknown_event_type then 'unknown_event_type' end,
            case when f_unknown_feature then 'unknown_feature' end,
            case when f_invalid_value then 'invalid_value' end,
            case when f_missing_task_id then 'missing_task_id' end,
            case when is_duplicate then 'duplicate_event' end
        ], lambda reason: reason is not null)) as reason
    from (
        select *, rowid in (select row_no from event_duplicates) as is_duplicate
        from events_checked
    )
    where not passes or is_duplicate
)
;
-- The data horizon: maturity is judged as of the latest event or call end loaded (or the
-- maturity_as_of var); the call years bound the annual grid lookup.
create temp table horizon as
select
    coalesce(${maturity_as_of}, greatest(
        (select max(event_at) from accepted_events),
        (select max(ended_at) from accepted_calls)
    )) as maturity_as_of,
    (select min(year(started_at)) from accepted_calls) as first_year,
    (select max(year(started_at)) from accepted_calls) as last_year
;
-- Tasks from their accepted events, with the outcome as of the horizon.
create temp table tasks as
with rolled as (
    select
        task_id,
        min(feature) as feature,
        coalesce(min(event_at) filter (event_type = 'started'), min(event_at)) as started_at,
        max(event_at) as ended_at,
        min(event_at) filter (event_type = 'completed') as completed_at,
        count(*) filter (event_type = 'completed') as n_completed,
        count(*) filter (event_type = 'escalated') as n_escalated,
        count(*) filter (event_type = 'abandoned') as n_abandoned,
        count(*) filter (event_type = 'retried') as retries,
        avg(quality_score) filter (event_type = 'rated') as quality_score
    from accepted_events
    group by task_id
)
select
    rolled.task_id,
    rolled.feature,
    case
        when n_completed > 0 then 'completed'
        when n_escalated > 0 then 'escalated'
        when n_abandoned > 0 then 'abandoned'
        when rolled.ended_at + to_hours(cast(coalesce(
            seed_features.completion_window_hours, ${default_completion_window_hours}
        ) as bigint)) > horizon.maturity_as_of then 'pending'
        else 'timed_out'
    end as outcome,
    n_completed > 0 as is_completed,
    1 + retries as attempts,
    retries,
    rolled.started_at,
    rolled.ended_at,
    rolled.completed_at,
    rolled.quality_score
from rolled
cross join horizon
left join seed_features on rolled.feature = seed_features.feature
;
-- The batch-size curve read off once for every batch any call can need (log-linear between
-- points, flat beyond the last): pricing then joins it on equality.
create temp table batch_curve as
with points as (
    select
        batch_size as b0,
        lead(batch_size) over (order by batch_size) as b1,
        relative_energy_per_token as r0,
        lead(relative_energy_per_token) over (order by batch_size) as r1
    from seed_batch_curve
),
needed as (
    select distinct batch_size as b from accepted_calls where batch_size is not null
    union select reference_batch_size from seed_coefficients
    union select unnest([assumed_batch_size, batch_size_low, batch_size_high]) from seed_deployments
    union select unnest([${assumed_batch_size}, ${assumed_batch_size_low}, ${assumed_batch_size_high}])
)
select
    needed.b,
    r0 + (coalesce(r1, r0) - r0) * coalesce((ln(needed.b) - ln(b0)) / (ln(b1) - ln(b0)), 0)
        as relative_energy
from needed
join points on needed.b >= points.b0 and (needed.b < points.b1 or points.b1 is null)
;
-- Annual grid figure per zone and year: the latest year published at or before it.
create temp table grid_year as
select zone_years.grid_zone, zone_years.year_start, seed.period_start, seed.gco2e_per_kwh
from (
    select distinct seed_regions.grid_zone, make_date(cast(y as integer), 1, 1) as year_start
    from seed_regions,
        (select unnest(range(first_year, last_year + 1)) as y from horizon) as years
) as zone_years
asof left join (
    select * from seed_grid where period_grain = 'year' and basis = 'location'
) as seed
    on zone_years.grid_zone = seed.grid_zone and zone_years.year_start >= seed.period_start
;
create temp table grid_hour as
select
    cast(grid_zone as varchar) as grid_zone,
    date_trunc('hour', cast(hour_start_at as timestamp)) as hour_start_at,
    cast(gco2e_per_kwh as double) as gco2e_per_kwh
from grid_raw
;
-- Every accepted call priced (docs/formula.md, per inference call).
create table fct_inference_call_footprint as
with batched as (
    select
        calls.*,
        tasks.task_id is not null as has_task,
        tasks.feature,
        coef.model_tier,
        coef.energy_method as coefficient_method,
        coef.reference_batch_size,
        coef.wh_per_1k_prefill_tokens, coef.wh_per_1k_prefill_tokens_low,
        coef.wh_per_1k_prefill_tokens_high,
        coef.wh_per_1k_decode_tokens, coef.wh_per_1k_decode_tokens_low,
        coef.wh_per_1k_decode_tokens_high,
        coalesce(calls.gpu_type, coef.proxy_gpu_type) as replica_gpu_type,
        coalesce(calls.gpu_count, coef.gpus_per_replica, coef.proxy_gpu_count)
            as replica_gpu_count,
        -- unknown batch: a vendor's own reference batch, else the deployment's, else the var
        coalesce(calls.batch_size,
                 case when coef.energy_method = 'estimated' then coef.reference_batch_size end,
                 dep.assumed_batch_size, ${assumed_batch_size}) as effective_batch_size,
        coalesce(calls.batch_size,
                 case when coef.energy_method = 'estimated' then coef.reference_batch_size end,
                 dep.batch_size_low, ${assumed_batch_size_low}) as effective_batch_size_min,
        coalesce(calls.batch_size,
                 case when coef.energy_method = 'estimated' then coef.reference_batch_size end,
                 dep.batch_size_high, ${assumed_batch_size_high}) as effective_batch_size_max,
        region.grid_zone, region.pue, region.wue_l_per_kwh, region.market_gco2e_per_kwh,
        region.host_overhead, region.host_overhead_low, region.host_overhead_high,
        date_diff('microsecond', calls.started_at, calls.ended_at) / 3600000000.0 as call_hours
    from accepted_calls as calls
    left join tasks on calls.task_id = tasks.task_id
    left join seed_coefficients as coef
        on calls.model = coef.model and coalesce(calls.gpu_type, '') = coalesce(coef.gpu_type, '')
    left join seed_regions as region on calls.region = region.region
    left join seed_deployments as dep
        on calls.model = dep.model
        and coalesce(calls.gpu_type, '') = coalesce(dep.gpu_type, '')
        and calls.region = dep.region
),
coefficients as (
    select
        batched.*,
        residual.cache_residual, residual.cache_residual_low, residual.cache_residual_high,
        at_batch.relative_energy as rel_mid,
        at_max.relative_energy as rel_low,   -- the low bound runs at the largest batch
        at_min.relative_energy as rel_high,  -- the high bound at the smallest
        at_ref.relative_energy as rel_ref,
        case when coefficient_method = 'modeled' then acc.idle_w end as gpu_idle_w,
        case when coefficient_method = 'modeled' then acc.tdp_w end as gpu_tdp_w,
        (acc.embodied_kgco2e_gpu + acc.embodied_kgco2e_server_share) * 1000.0
            as embodied_gco2e_per_gpu,
        acc.lifetime_years * 8760.0 as gpu_lifetime_hours,
        coalesce(hour.gco2e_per_kwh, month.gco2e_per_kwh, year.gco2e_per_kwh)
            as grid_gco2e_per_kwh,
        case
            when hour.gco2e_per_kwh is not null then 'hour'
            when month.gco2e_per_kwh is not null then 'month'
            when year.gco2e_per_kwh is not null then 'year'
        end as grid_period,
        coalesce(hour.hour_start_at, cast(month.period_start as timestamp),
                 cast(year.period_start as timestamp)) as grid_period_start,
        coalesce(hour.gco2e_per_kwh is null and month.gco2e_per_kwh is null
                 and year.period_start < year.year_start, false)
            as is_grid_intensity_carried_forward
    from batched
    cross join (select * from seed_cache_residual where cache_scope = 'default') as residual
    left join batch_curve as at_batch on batched.effective_batch_size = at_batch.b
    left join batch_curve as at_max on batched.effective_batch_size_max = at_max.b
    left join batch_curve as at_min on batched.effective_batch_size_min = at_min.b
    left join batch_curve as at_ref on batched.reference_batch_size = at_ref.b
    left join seed_accelerators as acc on batched.replica_gpu_type = acc.gpu_type
    left join grid_hour as hour
        on batched.grid_zone = hour.grid_zone
        and date_trunc('hour', batched.started_at) = hour.hour_start_at
    left join (
        select * from seed_grid where period_grain = 'month' and basis = 'location'
    ) as month
        on batched.grid_zone = month.grid_zone
        and cast(date_trunc('month', batched.started_at) as date) = month.period_start
    left join grid_year as year
        on batched.grid_zone = year.grid_zone
        and cast(date_trunc('year', batched.started_at) as date) = year.year_start
),
modelled as (
    select
        *,
        measured_energy_j is not null as is_measured,
        -- token model: (prefill + decode) x batch factor, per bound
        ((input_tokens - cached_input_tokens + cache_residual * cached_input_tokens) / 1000.0
            * wh_per_1k_prefill_tokens
         + output_tokens / 1000.0 * wh_per_1k_decode_tokens) * (rel_mid / rel_ref) as token_wh,
        ((input_tokens - cached_input_tokens + cache_residual_low * cached_input_tokens) / 1000.0
            * wh_per_1k_prefill_tokens_low
         + output_tokens / 1000.0 * wh_per_1k_decode_tokens_low) * (rel_low / rel_ref)
            as token_wh_low,
        ((input_tokens - cached_input_tokens + cache_residual_high * cached_input_tokens) / 1000.0
            * wh_per_1k_prefill_tokens_high
         + output_tokens / 1000.0 * wh_per_1k_decode_tokens_high) * (rel_high / rel_ref)
            as token_wh_high,
        -- idle floor: the call's share of its replica's GPUs at idle power
        replica_gpu_count * call_hours / effective_batch_size as gpu_share_hours,
        gpu_idle_w * (replica_gpu_count * call_hours / effective_batch_size) as idle_wh,
        gpu_idle_w * (replica_gpu_count * call_hours / effective_batch_size_max) as idle_wh_low,
        gpu_idle_w * (replica_gpu_count * call_hours / effective_batch_size_min) as idle_wh_high
    from coefficients
),
accelerator as (
    select
        *,
        case when is_measured then measured_energy_j / 3600.0
             else greatest(token_wh, idle_wh) end as accelerator_wh,
        case when is_measured then measured_energy_j / 3600.0
             else greatest(token_wh_low, idle_wh_low) end as accelerator_wh_low,
        case when is_measured then measured_energy_j / 3600.0
             else greatest(token_wh_high, idle_wh_high) end as accelerator_wh_high
    from modelled
)
select
    call_id, task_id, has_task, feature, model, model_tier, provider, region, grid_zone,
    gpu_type, gpu_count, started_at, ended_at, status, input_tokens, cached_input_tokens,
    output_tokens, batch_size, effective_batch_size, effective_batch_size_min,
    effective_batch_size_max, batch_size is null as is_batch_size_assumed,
    case when is_measured then 'measured' else coefficient_method end as energy_method,
    case
        when is_measured then 'measured'
        when coalesce(idle_wh > token_wh, false) then 'idle_floor'
        else 'token_model'
    end as accelerator_wh_basis,
    accelerator_wh, accelerator_wh_low, accelerator_wh_high,
    accelerator_wh * host_overhead as it_wh,
    accelerator_wh * host_overhead * pue as facility_wh,
    accelerator_wh_low * host_overhead_low * pue as facility_wh_low,
    accelerator_wh_high * host_overhead_high * pue as facility_wh_high,
    accelerator_wh * host_overhead * pue / 1000.0 * grid_gco2e_per_kwh as gco2e_location,
    accelerator_wh_low * host_overhead_low * pue / 1000.0 * grid_gco2e_per_kwh
        as gco2e_location_low,
    accelerator_wh_high * host_overhead_high * pue / 1000.0 * grid_gco2e_per_kwh
        as gco2e_location_high,
    accelerator_wh * host_overhead * pue / 1000.0
        * coalesce(market_gco2e_per_kwh, grid_gco2e_per_kwh) as gco2e_market,
    embodied_gco2e_per_gpu / gpu_lifetime_hours * replica_gpu_count * call_hours
        / effective_batch_size as gco2e_embodied,
    accelerator_wh * host_overhead * wue_l_per_kwh as water_ml,
    wh_per_1k_prefill_tokens, wh_per_1k_decode_tokens, cache_residual,
    rel_mid / rel_ref as batch_factor,
    gpu_idle_w, gpu_tdp_w,
    case when gpu_share_hours > 0 and gpu_tdp_w is not null
         then accelerator_wh / gpu_share_hours end as implied_gpu_power_w,
    host_overhead, pue, wue_l_per_kwh, grid_gco2e_per_kwh, grid_period, grid_period_start,
    is_grid_intensity_carried_forward, market_gco2e_per_kwh, measured_energy_j
from accelerator
;
-- Calls summed per task (unattributed calls stay out), with what the feature-day mart needs.
create temp table task_calls as
select
    task_id,
    count(*) as call_count,
    count(*) filter (status != 'ok') as failed_call_count,
    cast(sum(input_tokens) as bigint) as input_tokens,
    cast(sum(cached_input_tokens) as bigint) as cached_input_tokens,
    cast(sum(output_tokens) as bigint) as output_tokens,
    sum(accelerator_wh) as accelerator_wh,
    sum(it_wh) as it_wh,
    sum(facility_wh) as facility_wh,
    sum(facility_wh_low) as facility_wh_low,
    sum(facility_wh_high) as facility_wh_high,
    sum(gco2e_location) as gco2e_location,
    sum(gco2e_location_low) as gco2e_location_low,
    sum(gco2e_location_high) as gco2e_location_high,
    sum(gco2e_market) as gco2e_market,
    sum(gco2e_embodied) as gco2e_embodied,
    sum(water_ml) as water_ml,
    count(batch_size) as calls_with_batch_size,
    sum(batch_size) as batch_size_sum,
    count(*) filter (energy_method = 'measured') as measured_calls,
    ${tier_sums}
from fct_inference_call_footprint
where has_task
group by task_id
;
create temp table task_facts as
select
    tasks.*,
    tasks.outcome = 'pending' as is_pending,
    coalesce(call_count, 0) as call_count,
    coalesce(failed_call_count, 0) as failed_call_count,
    coalesce(input_tokens, 0) as input_tokens,
    coalesce(cached_input_tokens, 0) as cached_input_tokens,
    coalesce(output_tokens, 0) as output_tokens,
    coalesce(accelerator_wh, 0) as accelerator_wh,
    coalesce(it_wh, 0) as it_wh,
    coalesce(facility_wh, 0) as facility_wh,
    coalesce(facility_wh_low, 0) as facility_wh_low,
    coalesce(facility_wh_high, 0) as facility_wh_high,
    coalesce(gco2e_location, 0) as gco2e_location,
    coalesce(gco2e_location_low, 0) as gco2e_location_low,
    coalesce(gco2e_location_high, 0) as gco2e_location_high,
    coalesce(gco2e_market, 0) as gco2e_market,
    coalesce(gco2e_embodied, 0) as gco2e_embodied,
    coalesce(water_ml, 0) as water_ml,
    coalesce(calls_with_batch_size, 0) as calls_with_batch_size,
    coalesce(batch_size_sum, 0) as batch_size_sum,
    coalesce(measured_calls, 0) as measured_calls,
    ${tier_zero_filled}
from tasks
left join task_calls using (task_id)
;
create table fct_task_footprint as
select
    task_id, feature, outcome, is_completed, is_pending, attempts, retries, started_at,
    ended_at, completed_at, call_count, failed_call_count, input_tokens, cached_input_tokens,
    output_tokens, accelerator_wh, it_wh, facility_wh, facility_wh_low, facility_wh_high,
    gco2e_location, gco2e_location_low, gco2e_location_high, gco2e_market, gco2e_embodied,
    water_ml, quality_score
from task_facts
;
-- Feature x day of task start. Outcome and energy sums leave pending tasks out (counted
-- apart); call descriptors (tokens, batch, cache) cover every task's calls.
create table mart_feature_task_watts as
with day as (
    select
        feature,
        cast(started_at as date) as task_date,
        count(*) filter (not is_pending) as tasks,
        count(*) filter (not is_pending and is_completed) as completed_tasks,
        count(*) filter (outcome = 'escalated') as escalated_tasks,
        count(*) filter (outcome = 'abandoned') as abandoned_tasks,
        count(*) filter (outcome = 'timed_out') as timed_out_tasks,
        count(*) filter (is_pending) as pending_tasks,
        coalesce(sum(facility_wh) filter (is_pending), 0) as pending_facility_wh,
        sum(attempts) filter (not is_pending) as attempts,
        sum(retries) filter (not is_pending) as retries,
        sum(call_count) filter (not is_pending) as calls,
        sum(failed_call_count) filter (not is_pending) as failed_calls,
        sum(measured_calls) as measured_calls,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(output_tokens) as output_tokens,
        sum(accelerator_wh) as accelerator_wh,
        sum(facility_wh) filter (not is_pending) as facility_wh,
        sum(facility_wh_low) filter (not is_pending) as facility_wh_low,
        sum(facility_wh_high) filter (not is_pending) as facility_wh_high,
        sum(facility_wh) filter (not is_pending and not is_completed) as wasted_wh,
        sum(gco2e_location) filter (not is_pending) as gco2e_location,
        sum(gco2e_location_low) filter (not is_pending) as gco2e_location_low,
        sum(gco2e_location_high) filter (not is_pending) as gco2e_location_high,
        sum(gco2e_market) filter (not is_pending) as gco2e_market,
        sum(gco2e_embodied) filter (not is_pending) as gco2e_embodied,
        sum(water_ml) filter (not is_pending) as water_ml,
        sum(calls_with_batch_size) as calls_with_batch_size,
        sum(batch_size_sum) as batch_size_sum,
        ${tier_day_sums},
        count(quality_score) filter (not is_pending) as rated_tasks,
        sum(quality_score) filter (not is_pending) as quality_score_sum
    from task_facts
    group by feature, cast(started_at as date)
)
select
    feature || '|' || cast(task_date as varchar) as feature_day_id,
    feature, task_date, tasks, completed_tasks, escalated_tasks, abandoned_tasks,
    timed_out_tasks, pending_tasks, pending_facility_wh,
    coalesce(attempts, 0) as attempts,
    coalesce(retries, 0) as retries,
    coalesce(calls, 0) as calls,
    coalesce(failed_calls, 0) as failed_calls,
    measured_calls, input_tokens, cached_input_tokens, output_tokens, accelerator_wh,
    coalesce(facility_wh, 0) as facility_wh,
    coalesce(facility_wh_low, 0) as facility_wh_low,
    coalesce(facility_wh_high, 0) as facility_wh_high,
    -- no non-pending task: no waste; non-pending tasks but all completed: 0
    coalesce(wasted_wh, 0) as wasted_wh,
    coalesce(gco2e_location, 0) as gco2e_location,
    coalesce(gco2e_location_low, 0) as gco2e_location_low,
    coalesce(gco2e_location_high, 0) as gco2e_location_high,
    coalesce(gco2e_market, 0) as gco2e_market,
    coalesce(gco2e_embodied, 0) as gco2e_embodied,
    coalesce(water_ml, 0) as water_ml,
    facility_wh / nullif(completed_tasks, 0) as task_wh,
    facility_wh_low / nullif(completed_tasks, 0) as task_wh_low,
    facility_wh_high / nullif(completed_tasks, 0) as task_wh_high,
    gco2e_location / nullif(completed_tasks, 0) as task_gco2e,
    gco2e_location_low / nullif(completed_tasks, 0) as task_gco2e_low,
    gco2e_location_high / nullif(completed_tasks, 0) as task_gco2e_high,
    gco2e_market / nullif(completed_tasks, 0) as task_gco2e_market,
    completed_tasks / nullif(tasks, 0) as completion_rate,
    case when tasks > 0 then coalesce(wasted_wh, 0) end / nullif(facility_wh, 0)
        as wasted_wh_share,
    output_tokens / nullif(accelerator_wh, 0) as output_tokens_per_accelerator_wh,
    cached_input_tokens / nullif(input_tokens, 0) as cache_hit_rate,
    calls_with_batch_size,
    batch_size_sum,
    batch_size_sum / nullif(calls_with_batch_size, 0) as mean_batch_size,
    ${tier_day_columns},
    rated_tasks,
    quality_score_sum,
    quality_score_sum / nullif(rated_tasks, 0) as mean_quality_score
from day
;
-- Model x accelerator x month.
create table mart_model_efficiency as
with monthly as (
    select
        model, model_tier, provider, gpu_type,
        cast(date_trunc('month', started_at) as date) as month_start,
        count(*) as calls,
        count(*) filter (energy_method = 'measured') as measured_calls,
        count(*) filter (energy_method = 'estimated') as estimated_calls,
        sum(input_tokens) as input_tokens,
        sum(cached_input_tokens) as cached_input_tokens,
        sum(output_tokens) as output_tokens,
        sum(accelerator_wh) as accelerator_wh,
        sum(accelerator_wh_low) as accelerator_wh_low,
        sum(accelerator_wh_high) as accelerator_wh_high,
        sum(facility_wh) as facility_wh,
        sum(gco2e_location) as gco2e_location,
        count(batch_size) as calls_with_batch_size,
        sum(batch_size) as batch_size_sum
    from fct_inference_call_footprint
    group by all
)
select
    model || '|' || coalesce(gpu_type, 'vendor') || '|' || cast(month_start as varchar)
        as model_efficiency_id,
    model, model_tier, provider, gpu_type, month_start, calls, measured_calls, estimated_calls,
    case
        when estimated_calls = calls then 'estimated'
        when measured_calls = calls then 'measured'
        when measured_calls > 0 then 'mixed'
        else 'modeled'
    end as energy_method,
    input_tokens, cached_input_tokens, output_tokens, accelerator_wh, accelerator_wh_low,
    accelerator_wh_high, facility_wh, gco2e_location,
    output_tokens / nullif(accelerator_wh, 0) as output_tokens_per_accelerator_wh,
    output_tokens / nullif(accelerator_wh_high, 0) as output_tokens_per_accelerator_wh_low,
    output_tokens / nullif(accelerator_wh_low, 0) as output_tokens_per_accelerator_wh_high,
    accelerator_wh * 1000.0 / nullif(input_tokens + output_tokens, 0)
        as accelerator_wh_per_1k_tokens,
    facility_wh * 1000.0 / nullif(input_tokens + output_tokens, 0) as facility_wh_per_1k_tokens,
    gco2e_location * 1000.0 / nullif(input_tokens + output_tokens, 0) as gco2e_per_1k_tokens,
    cached_input_tokens / nullif(input_tokens, 0) as cache_hit_rate,
    calls_with_batch_size,
    batch_size_sum / nullif(calls_with_batch_size, 0) as mean_batch_size
from monthly
;
