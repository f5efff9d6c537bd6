{#
    Helpers for the daily, incremental load (task-watts daily).

    A full build (no var('batch_date')) reads every file and rebuilds every
    incremental model from scratch: their `full_refresh` config is true then.
    A daily load sets var('batch_date'): staging reads that day's partition
    only, and the incremental models merge the day into what is there.
#}

{# The batch being loaded, as a SQL date literal (only meaningful in a daily load). #}
{% macro batch_date_literal() %}
    {{- "date '" ~ var('batch_date') ~ "'" -}}
{% endmacro %}


{#
    Pre-hook of the incremental models whose rows belong to one batch: forget
    the rows the current day already put there, so that re-running a day
    replaces it (idempotent) instead of adding to it.
#}
{% macro clear_current_batch() %}
    {%- if is_incremental() and var('batch_date', none) is not none -%}
        delete from {{ this }} where batch_date = {{ task_watts.batch_date_literal() }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{#
    Row-level timestamp rule shared by calls and events: in the future (past
    now + tolerance), or outside its batch's day: earlier than the day minus
    var('late_arrival_lookback_days'), or later than the day's end plus
    var('timestamp_tolerance_minutes'). Rows of a full build from a flat folder
    have no batch day and are only checked against now.
#}
{% macro is_bad_timestamp(column, batch_column='batch_date') %}
    (
        {{ column }} > cast(current_timestamp as timestamp)
        + interval '{{ var("timestamp_tolerance_minutes") }} minutes'
        or (
            {{ batch_column }} is not null
            and (
                {{ column }} < cast({{ batch_column }} as timestamp)
                - interval '{{ var("late_arrival_lookback_days") }} days'
                or {{ column }} >= cast({{ batch_column }} as timestamp)
                + interval '1 day'
                + interval '{{ var("timestamp_tolerance_minutes") }} minutes'
            )
        )
    )
{% endmacro %}
