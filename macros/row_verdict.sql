{#
    The verdict on each checked row, shared by both inputs: `ruled` passes a
    row when none of its rejecting flags is set; `final` marks, among the
    passing copies of one id, every copy but the first (by batch day, then
    time, then content) as a duplicate: the same winner whatever the file
    order. Emits "ruled as (...), final as (...)" after a `checked` CTE.
#}
{% macro row_verdict(rejecting_flags, key, time_column, duplicate_flag) %}
ruled as (

    select
        *,
        not coalesce(
            {{ rejecting_flags | join('\n            or ') }},
            false
        ) as passes_row_rules
    from checked

),

final as (

    select
        *,
        passes_row_rules
        and row_number() over (
            partition by {{ key }}, passes_row_rules
            order by batch_date asc nulls first, {{ time_column }} asc, row_hash asc, source_row_id asc
        ) > 1 as {{ duplicate_flag }}
    from ruled

)
{% endmacro %}
