{#
    The quarantine's logical CTEs, shared by both inputs: `flagged` marks each
    validated row rejected (no accepted row has its source_row_id) and a
    duplicate of an earlier day's id; `reasons` fans a row out to one row per
    rule it broke. `rules` is a list of (reason code, boolean SQL condition).
    Emits "flagged as (...), reasons as (...)," for a model's `with` list.
#}
{% macro quarantine_reasons(validated, accepted, duplicate_flag, rules) %}
flagged as (

    select
        {{ validated }}.*,
        {{ accepted }}.source_row_id is null as is_rejected,
        -- Passed every rule and was first in its load, yet an earlier day holds the id.
        {{ validated }}.passes_row_rules
        and not {{ validated }}.{{ duplicate_flag }}
        and {{ accepted }}.source_row_id is null as is_duplicate_of_earlier_day
    from {{ validated }}
    left join {{ accepted }}
        on {{ validated }}.source_row_id = {{ accepted }}.source_row_id

),

reasons as (

    {%- for reason, condition in rules %}
        select
            '{{ reason }}' as reason,
            *
        from flagged
        where {{ condition }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}

),
{% endmacro %}
