{#
    A row's identity as the quarantine reports it: `<file>#<n>`, the file it
    was read from and its 1-based number there, as the reader found them (no
    window over the rows, so it is the same every time the file is read).
    Staged rows carry the two parts as columns; only the quarantine's few rows
    pay for the string.
#}
{% macro source_row_id(file_column, row_number_column) %}
    cast(coalesce({{ file_column }}, '') || '#' || cast({{ row_number_column }} as string) as string)
{%- endmacro %}


{# The day of the load a file belongs to: date=YYYY-MM-DD in its path; empty for a flat file. #}
{% macro batch_date_of(file_column) %}
    cast(try_cast(regexp_extract({{ file_column }}, 'date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) as date) as date)
{%- endmacro %}
