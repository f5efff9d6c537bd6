{{ config(materialized='ephemeral') }}
{#
    Every checked call of the current load with its verdict: of several
    copies of one call_id that pass the row rules, the first by (batch day,
    start, content) is kept and the others are marked is_duplicate_call: the
    same winner whatever the file order.
#}

with

checked_calls as (

    select * from {{ ref('int_inference_calls__checked') }}

),

{{ task_watts.row_verdict('inference_calls', 'checked_calls', 'is_duplicate_call') }}

select * from final
