{{ config(materialized='ephemeral') }}
{#
    Every checked task event of the current load with its verdict: of several
    copies of one event_id that pass the row rules, the first by (batch day,
    time, content) is kept and the others are marked is_duplicate_event: the
    same winner whatever the file order.
#}

with

checked_events as (

    select * from {{ ref('int_task_events__checked') }}

),

{{ task_watts.row_verdict('task_events', 'checked_events', 'is_duplicate_event') }}

select * from final
