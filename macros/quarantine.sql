{#
    The quarantine's logical CTEs, shared by both inputs. The accepted table
    already holds the de-duplication verdict on every row it kept, so the
    quarantine does not de-duplicate the load a second time: it matches the
    checked rows of the load (row-local rules only) to the accepted rows by
    their identity (file and row number). A row that is
    not accepted is rejected; if it broke no rule, it lost to another copy of
    its id, of this load or of an earlier day (`duplicate_flag`; the test
    has_an_accepted_copy checks that copy exists). `flagged` keeps only the
    rows with something to report (rejected, or an accepted row with a flag
    such as no_task); `reasons` gives a row one line per rule it broke, by
    pairing it with the list of reasons (a small constant table) instead of
    scanning it once per reason. `rules` is a list of (reason code, boolean
    SQL condition on the judged row). Emits "accepted_in_load as (...),
    judged as (...), flagged as (...), reasons as (...)," for a model's
    `with` list.
#}
{% macro quarantine_reasons(checked, accepted, duplicate_flag, rules) %}
accepted_in_load as (

    select
        source_file,
        source_row_number
    from {{ accepted }}
    {%- if task_watts.is_daily_load() %}
    -- the day's rows only; the other days' row groups are skipped by their batch_date range
    where batch_date = {{ task_watts.batch_date_literal() }}
    {%- endif %}

),

judged as (

    select
        {{ checked }}.*,
        accepted_in_load.source_row_number is null as is_rejected,
        accepted_in_load.source_row_number is null
        and {{ checked }}.passes_row_rules as {{ duplicate_flag }}
    from {{ checked }}
    left join accepted_in_load
        on
            {{ checked }}.source_file is not distinct from accepted_in_load.source_file
            and {{ checked }}.source_row_number = accepted_in_load.source_row_number

),

flagged as (

    select * from judged
    where
        is_rejected
        {% for reason, condition in rules -%}
            or ({{ condition }})
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
