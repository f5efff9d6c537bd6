{#
    Value normalisation shared by the staging models, so every input reads a
    value the same way.
#}

{#
    A UTC timestamp from what loggers actually write: ISO-8601 text (an
    offset converts to UTC, a naive value is taken as UTC), a native
    timestamp, or a number of seconds, milliseconds, microseconds or
    nanoseconds since the Unix epoch, told apart by magnitude (1e11 s is the
    year 5138; 1e11 ms is 1973). `source_type` is the raw column's type when
    known (staging reads it off the files before the query runs): a native
    timestamp is then cast as it is and a number read as a number, instead of
    trying every reading of every value through text, which costs more than
    reading the file.
#}
{% macro to_utc_timestamp(column, source_type=none) %}
    {{ return(adapter.dispatch('to_utc_timestamp', 'task_watts')(column, source_type)) }}
{% endmacro %}

{% macro default__to_utc_timestamp(column, source_type=none) %}
    cast({{ column }} as timestamp)
{% endmacro %}

{% macro duckdb__to_utc_timestamp(column, source_type=none) %}
    {%- set kind = (source_type or '') | upper -%}
    {%- set numeric = ['TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT',
        'UINTEGER', 'UBIGINT', 'FLOAT', 'DOUBLE', 'REAL'] -%}
    {%- if kind.startswith('TIMESTAMP') or kind == 'DATE' -%}
        {#- the session is UTC, so a zoned value converts to UTC -#}
        cast(cast({{ column }} as timestamptz) as timestamp)
    {%- elif kind in numeric or kind.startswith('DECIMAL') -%}
        {{ task_watts.epoch_to_timestamp('cast(' ~ column ~ ' as double)') }}
    {%- else -%}
    case
        when try_cast(cast({{ column }} as string) as double) is null
            then cast(cast({{ column }} as timestamptz) as timestamp)
        else {{ task_watts.epoch_to_timestamp('try_cast(cast(' ~ column ~ ' as string) as double)') }}
    end
    {%- endif -%}
{% endmacro %}

{#
    Spark: the same readings. Its cast of ISO text honours an offset (the session is UTC);
    typed columns are described before the query runs (spark__telemetry_column_types).
#}
{% macro spark__to_utc_timestamp(column, source_type=none) %}
    {%- set kind = (source_type or '') | upper -%}
    {%- set numeric = ['TINYINT', 'SMALLINT', 'INT', 'BIGINT', 'FLOAT', 'DOUBLE'] -%}
    {%- if kind.startswith('TIMESTAMP') or kind == 'DATE' -%}
        cast({{ column }} as timestamp)
    {%- elif kind in numeric or kind.startswith('DECIMAL') -%}
        {{ task_watts.epoch_to_timestamp('cast(' ~ column ~ ' as double)') }}
    {%- else -%}
    case
        when try_cast(cast({{ column }} as string) as double) is null
            then cast({{ column }} as timestamp)
        else {{ task_watts.epoch_to_timestamp('try_cast(cast(' ~ column ~ ' as string) as double)') }}
    end
    {%- endif -%}
{% endmacro %}

{#- Seconds, milliseconds, microseconds or nanoseconds since the epoch, told apart by magnitude. -#}
{% macro epoch_to_timestamp(number) %}
    case
        when abs({{ number }}) < 1e11
            then {{ task_watts.timestamp_from_micros('cast(round(' ~ number ~ ' * 1e6) as bigint)') }}
        when abs({{ number }}) < 1e14
            then {{ task_watts.timestamp_from_micros('cast(round(' ~ number ~ ' * 1e3) as bigint)') }}
        when abs({{ number }}) < 1e17
            then {{ task_watts.timestamp_from_micros('cast(round(' ~ number ~ ') as bigint)') }}
        else {{ task_watts.timestamp_from_micros('cast(round(' ~ number ~ ' / 1e3) as bigint)') }}
    end
{%- endmacro %}

{% macro timestamp_from_micros(micros) %}
    {{- return(adapter.dispatch('timestamp_from_micros', 'task_watts')(micros)) -}}
{% endmacro %}

{% macro default__timestamp_from_micros(micros) %}make_timestamp({{ micros }}){% endmacro %}

{% macro spark__timestamp_from_micros(micros) %}timestamp_micros({{ micros }}){% endmacro %}


{#
    An id or label with any surrounding whitespace (space, tab, newline, form
    feed, carriage return, NBSP) removed; blank -> null. DuckDB trims a set
    of characters directly, several times faster than the regular expression
    other engines use; Spark too (its string literals would also eat the
    regular expression's backslashes). On DuckDB the trim only runs when the
    first or last character is one of them: trimming a set costs about three
    times the two look-ups (1.3 against 0.4 CPU-s for 5.3M ids), and nearly
    every id arrives clean.
#}
{% macro blank_to_null(column) %}
    {{ return(adapter.dispatch('blank_to_null', 'task_watts')(column)) }}
{% endmacro %}

{% macro default__blank_to_null(column) %}
    nullif(regexp_replace(cast({{ column }} as string), '^[\s\x{00a0}]+|[\s\x{00a0}]+$', '', 'g'), '')
{% endmacro %}

{% macro spark__blank_to_null(column) %}
    nullif(trim(both concat(' ', chr(9), chr(10), chr(12), chr(13), chr(160)) from cast({{ column }} as string)), '')
{% endmacro %}

{% macro duckdb__blank_to_null(column) %}
    {%- set value = 'cast(' ~ column ~ ' as string)' -%}
    {%- set whitespace = '(32, 9, 10, 12, 13, 160)' -%}
    case
        when ascii({{ value }}) in {{ whitespace }} or ascii(right({{ value }}, 1)) in {{ whitespace }}
            then nullif(trim({{ value }}, ' ' || chr(9) || chr(10) || chr(12) || chr(13) || chr(160)), '')
        else nullif({{ value }}, '')
    end
{% endmacro %}


{# True for NaN and +/-Infinity: values a sort or a range check would let through. #}
{% macro is_non_finite(column) %}
    {{ return(adapter.dispatch('is_non_finite', 'task_watts')(column)) }}
{% endmacro %}

{% macro default__is_non_finite(column) %}
    ({{ column }} <> {{ column }} or abs({{ column }}) > 1.7976931348623157e308)
{% endmacro %}

{% macro duckdb__is_non_finite(column) %}
    (not isfinite({{ column }}))
{% endmacro %}


{# A list of strings as SQL literals for an `in (...)`: 'a', 'b'. #}
{% macro quoted_list(values) %}
    {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
    {%- endfor -%}
{% endmacro %}


{#
    A type as this engine spells it. The contract declares DuckDB's names (varchar, integer,
    ...); Spark has no unsized varchar and calls a 32-bit integer int.
#}
{% macro engine_type(data_type) %}
    {{ return(adapter.dispatch('engine_type', 'task_watts')(data_type)) }}
{% endmacro %}

{% macro default__engine_type(data_type) %}
    {{ return(data_type) }}
{% endmacro %}

{% macro spark__engine_type(data_type) %}
    {{ return({'varchar': 'string', 'integer': 'int'}.get(data_type | lower, data_type)) }}
{% endmacro %}
