{#
    The verdict on each checked row, shared by both inputs: `ruled` passes a
    row when none of its rejecting flags is set; `repeated_ids` lists the ids
    that more than one passing row carries (a few, usually none), and only
    their rows are ranked, so de-duplication costs a group-by, not a sort of
    every row; `final` marks each passing copy of such an id but the first (by
    batch day, then time, then content, then file and row) as a duplicate: the
    same winner whatever the file order. Emits "ruled as (...), ..., final as
    (...)" after a `checked` CTE.
#}
{% macro row_verdict(input_name, rejecting_flags, duplicate_flag) %}
    {%- set key = task_watts.telemetry_contract(input_name).row_key -%}
    {%- set time_column = {'inference_calls': 'started_at', 'task_events': 'event_at'}[input_name] -%}
ruled as (

    select
        *,
        not coalesce(
            {{ rejecting_flags | join('\n            or ') }},
            false
        ) as passes_row_rules
    from checked

),

repeated_ids as (

    select {{ key }}
    from ruled
    where passes_row_rules
    group by {{ key }}
    having count(*) > 1

),

later_copies as (

    select
        source_file,
        source_row_number
    from (
        select
            ruled.source_file,
            ruled.source_row_number,
            row_number() over (
                partition by ruled.{{ key }}
                order by
                    ruled.batch_date asc nulls first,
                    ruled.{{ time_column }} asc,
                    {{ task_watts.contract_row_hash(input_name, 'ruled') }} asc,
                    ruled.source_file asc,
                    ruled.source_row_number asc
            ) as copy_rank
        from ruled
        inner join repeated_ids
            on ruled.{{ key }} = repeated_ids.{{ key }}
        where ruled.passes_row_rules
    ) as ranked
    where copy_rank > 1

),

final as (

    select
        ruled.*,
        later_copies.source_file is not null as {{ duplicate_flag }}
    from ruled
    left join later_copies
        on
            ruled.source_file is not distinct from later_copies.source_file
            and ruled.source_row_number is not distinct from later_copies.source_row_number

)
{% endmacro %}
