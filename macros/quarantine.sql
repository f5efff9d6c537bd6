{#
    The quarantine's logical CTEs, shared by both inputs, in one pass over
    the validated rows: `flagged` keeps only the rows with something to
    report (a broken rule, a later copy of an id, a flag such as no_task, or
    in a daily load an id an earlier day already holds), `judged` having
    marked each row rejected or not; `reasons` gives a row one line per rule it broke, by
    pairing it with the list of reasons (a small constant table) instead of
    scanning it once per reason. `rules` is a list of (reason code, boolean
    SQL condition on the flagged row). Emits "judged as (...), flagged as
    (...), reasons as (...)," for a model's `with` list.
#}
{% macro quarantine_reasons(input_name, validated, accepted, duplicate_flag, rules) %}
    {%- set key = task_watts.telemetry_contract(input_name).row_key -%}
judged as (

    select
        {{ validated }}.*,
        {% if is_incremental() -%}
            -- Passed every rule and was first in its load, yet an earlier day holds the id.
            earlier.{{ key }} is not null as is_duplicate_of_earlier_day,
        {% else -%}
            false as is_duplicate_of_earlier_day,
        {% endif -%}
        not {{ validated }}.passes_row_rules
        or {{ validated }}.{{ duplicate_flag }}
        {%- if is_incremental() %}
            or earlier.{{ key }} is not null
        {%- endif %} as is_rejected
    from {{ validated }}
    {% if is_incremental() -%}
        left join {{ accepted }} as earlier
            on
                {{ validated }}.{{ key }} = earlier.{{ key }}
                and {{ validated }}.passes_row_rules
                and not {{ validated }}.{{ duplicate_flag }}
                and earlier.batch_date is distinct from {{ validated }}.batch_date
    {% endif %}

),

flagged as (

    select * from judged
    where
        {% for reason, condition in rules -%}
            ({{ condition }}){{ ' or' if not loop.last }}
        {% endfor %}

),

reasons as (

    select
        rule_reasons.reason,
        flagged.*
    from flagged
    cross join (
        values
        {% for reason, condition in rules -%}
            ('{{ reason }}'){{ ',' if not loop.last }}
        {% endfor -%}
    ) as rule_reasons (reason)
    where
        case rule_reasons.reason
            {% for reason, condition in rules -%}
                when '{{ reason }}' then {{ condition }}
            {% endfor -%}
        end

),
{% endmacro %}
