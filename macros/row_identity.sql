{#
    The load bookkeeping every staged row carries: the day of the partition
    it came from (date=YYYY-MM-DD in its file path; empty for a flat file),
    the file, its content hash, and a row identity that tells identical rows
    of one file apart by their rank among themselves (`order_column` makes
    the rank stable). Emits select-list items ending with source_row_id.
#}
{% macro row_identity_columns(order_column) %}
        cast(
            try_cast(regexp_extract(source_file, 'date=(\d{4}-\d{2}-\d{2})', 1) as date) as date
        ) as batch_date,
        source_file,
        row_hash,
        cast(
            coalesce(source_file, '') || '#' || row_hash || '#'
            || row_number() over (partition by source_file, row_hash order by {{ order_column }})
            as varchar
        ) as source_row_id
{% endmacro %}
