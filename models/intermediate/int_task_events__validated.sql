{#
    Every staged task event of the current load with the outcome of each
    row-level rule (one flag per quarantine reason). Of several copies of one
    event_id that pass the rules, the first by (batch day, time, content) is
    kept: the same winner whatever the file order.
#}

with

task_events as (

    select * from {{ ref('stg_telemetry__task_events') }}

),

feature_catalogue as (

    select distinct feature from {{ ref('feature_catalogue') }}

),

checked as (

    select
        task_events.*,
        {{ is_bad_timestamp('task_events.event_at', 'task_events.batch_date') }}
            as is_bad_timestamp,
        task_events.event_type not in (
            {{ task_watts.quoted_list(var('event_types')) }}
        ) as is_unknown_event_type,
        feature_catalogue.feature is null as is_unknown_feature,
        coalesce(
            task_events.quality_score < 0 or task_events.quality_score > 1
            or {{ task_watts.is_non_finite('task_events.quality_score') }},
            false
        ) as is_invalid_value,
        task_events.task_id is null as is_missing_task_id

    from task_events
    left join feature_catalogue
        on task_events.feature = feature_catalogue.feature

),

ruled as (

    select
        *,
        not coalesce(
            is_bad_timestamp
            or is_unknown_event_type
            or is_unknown_feature
            or is_invalid_value
            or is_missing_task_id,
            false
        ) as passes_row_rules
    from checked

),

final as (

    select
        *,
        passes_row_rules
        and row_number() over (
            partition by event_id, passes_row_rules
            order by batch_date asc nulls first, event_at asc, row_hash asc, source_row_id asc
        ) > 1 as is_duplicate_event
    from ruled

)

select * from final
