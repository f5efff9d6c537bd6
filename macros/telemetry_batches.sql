{#
    Helpers for the daily, incremental load (task-watts daily).

    A full build reads every file and rebuilds every incremental model from
    scratch: their `full_refresh` config is true then. A daily load runs with
    --vars '{daily_load: true}' and the day in the environment variable
    TASK_WATTS_BATCH_DATE (both set by `task-watts daily`): staging reads that
    day's partition only, and the incremental models merge the day into what
    is there.

    The day is not a var because dbt parses the whole project again whenever
    --vars change (about 4 CPU-s more than a partial parse): a var holding the
    day would make every daily load pay it. Whether the load is daily decides
    configs and the DAG, so it is a var (the same every day); the day only
    goes into SQL text, which dbt renders at run time, so it is read at run
    time. Each load reuses the previous one's parse as long as nothing else
    (a full build, a manual dbt command with other vars) used the same target
    folder in between; then it parses once more.
#}

{% macro is_daily_load() %}
    {{ return(var('daily_load', false) in [true, 'true', 'True']) }}
{% endmacro %}


{# The day being loaded, 'YYYY-MM-DD', or none in a full build. #}
{% macro daily_batch_date() %}
    {%- if var('batch_date', none) is not none -%}
        {{ exceptions.raise_compiler_error(
            "var batch_date is not read: a daily load takes its day from the environment "
            ~ "variable TASK_WATTS_BATCH_DATE with --vars '{daily_load: true}' (both set by "
            ~ "`task-watts daily --date`); got --vars batch_date: " ~ var('batch_date')
        ) }}
    {%- endif -%}
    {%- if not execute -%}
        {#- Parsing: the day is read when the SQL is rendered, so a new day re-parses nothing. -#}
        {{ return('1970-01-01' if task_watts.is_daily_load() else none) }}
    {%- endif -%}
    {%- set day = env_var('TASK_WATTS_BATCH_DATE', '') | trim -%}
    {%- if not task_watts.is_daily_load() -%}
        {%- if day != '' -%}
            {{ exceptions.raise_compiler_error(
                "TASK_WATTS_BATCH_DATE is " ~ day ~ " but this is a full build (no --vars "
                ~ "'{daily_load: true}'): unset it, or load the day with `task-watts daily`"
            ) }}
        {%- endif -%}
        {{ return(none) }}
    {%- endif -%}
    {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', day) -%}
        {{ exceptions.raise_compiler_error(
            "a daily load (--vars '{daily_load: true}') needs TASK_WATTS_BATCH_DATE as a day, "
            ~ "YYYY-MM-DD; got: '" ~ day ~ "'"
        ) }}
    {%- endif -%}
    {{ return(day) }}
{% endmacro %}


{# The batch being loaded, as a SQL date literal (only meaningful in a daily load). #}
{% macro batch_date_literal() %}
    {{- "date '" ~ task_watts.daily_batch_date() ~ "'" -}}
{% endmacro %}


{#
    A condition on the call footprint `alias`: in a daily load, the calls this load priced
    (fct_inference_call_footprint.load_batch_date, whose min/max let DuckDB skip every row
    group an earlier load wrote); in a full build, every call.
#}
{% macro priced_by_this_load(alias) %}
    {%- if task_watts.is_daily_load() -%}
        {{ alias }}.load_batch_date = {{ task_watts.batch_date_literal() }}
    {%- else -%}
        true
    {%- endif -%}
{% endmacro %}


{#
    Pre-hook of the incremental models whose rows belong to one batch: forget
    the rows the current day already put there, so that re-running a day
    replaces it (idempotent) instead of adding to it.
#}
{% macro clear_current_batch() %}
    {%- if is_incremental() and task_watts.is_daily_load() -%}
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
