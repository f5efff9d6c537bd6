{#
    The load bookkeeping every staged row carries: the day of the partition
    it came from (date=YYYY-MM-DD in its file path; empty for a flat file),
    the file, the row's 1-based number in it, and the two as one identity
    `<file>#<n>` (source_row_id), as the reader found them (no window over the rows, so it costs nothing to build
    and is the same every time the file is read). Emits select-list items
    ending with source_row_id.
#}
{% macro row_identity_columns() %}
        {{ task_watts.batch_date_of('source_file') }} as batch_date,
        source_file,
        source_row_number,
        cast(coalesce(source_file, '') || '#' || cast(source_row_number as varchar) as varchar)
            as source_row_id
{% endmacro %}


{# The day of the load a file belongs to: date=YYYY-MM-DD in its path; empty for a flat file. #}
{% macro batch_date_of(file_column) %}
    cast(try_cast(regexp_extract({{ file_column }}, 'date=(\d{4}-\d{2}-\d{2})', 1) as date) as date)
{%- endmacro %}
