{#
    The de-duplication verdict on checked rows (`checked`, carrying
    passes_row_rules), shared by both inputs: `repeated_ids` lists the ids
    that more than one passing row carries (a few, usually none), and only
    their rows are ranked, so de-duplication costs a group-by, not a sort of
    every row; `final` marks each passing copy of such an id but the first (by
    batch day, then time, then content, then file and row) as a duplicate: the
    same winner whatever the file order. Emits "repeated_ids as (...), ...,
    final as (...)".
#}
{% macro row_verdict(input_name, checked, duplicate_flag) %}
    {%- set key = task_watts.telemetry_contract(input_name).row_key -%}
    {%- set time_column = {'inference_calls': 'started_at', 'task_events': 'event_at'}[input_name] -%}
repeated_ids as (

    select {{ key }}
    from {{ checked }}
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
            {{ checked }}.source_file,
            {{ checked }}.source_row_number,
            row_number() over (
                partition by {{ checked }}.{{ key }}
                order by
                    {{ checked }}.batch_date asc nulls first,
                    {{ checked }}.{{ time_column }} asc,
                    {{ task_watts.contract_row_hash(input_name, checked) }} asc,
                    {{ checked }}.source_file asc,
                    {{ checked }}.source_row_number asc
            ) as copy_rank
        from {{ checked }}
        inner join repeated_ids
            on {{ checked }}.{{ key }} = repeated_ids.{{ key }}
        where {{ checked }}.passes_row_rules
    ) as ranked
    where copy_rank > 1

),

final as (

    select
        {{ checked }}.*,
        later_copies.source_file is not null as {{ duplicate_flag }}
    from {{ checked }}
    left join later_copies
        on
            {{ checked }}.source_file is not distinct from later_copies.source_file
            and {{ checked }}.source_row_number is not distinct from later_copies.source_row_number

)
{% endmacro %}
