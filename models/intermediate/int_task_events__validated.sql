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

{{ task_watts.row_verdict(
    ['is_bad_timestamp', 'is_unknown_event_type', 'is_unknown_feature', 'is_invalid_value', 'is_missing_task_id'],
    'event_id', 'event_at', 'is_duplicate_event',
) }}

select * from final
