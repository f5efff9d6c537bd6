{#
    Resolve a telemetry source to something a staging model can select from.

    On a warehouse (Snowflake, BigQuery, Databricks) telemetry lands as tables,
    so the source relation is used as it is. On embedded DuckDB the telemetry is
    a folder of files: `<raw_dir>/<name>.{parquet,csv,jsonl,ndjson,json}` or a
    partitioned folder `<raw_dir>/<name>/**/*.<ext>`, the format detected by
    extension. `optional_columns` (name -> SQL type) are filled with NULL when
    a file does not carry them, so an optional contract column never breaks a
    load; a missing required column still fails with the column's name.

    `batched=true` (the daily load): when TASK_WATTS_BATCH_DATE is set, only the
    day's partition `<raw_dir>/<name>/date=<batch_date>/**` is read. The file
    each row came from and the row's 0-based position in it are then returned
    as `filename` and `file_row_number`: the row's identity, read off the scan
    instead of computed by a window over the whole row. On a warehouse the
    source relation carries both as load metadata.
#}
{% macro read_telemetry(relation, optional_columns={}, required=true, batched=false) %}
    {{ return(adapter.dispatch('read_telemetry', 'task_watts')(relation, optional_columns, required, batched)) }}
{% endmacro %}


{% macro default__read_telemetry(relation, optional_columns, required, batched=false) %}
    {{ return(relation) }}
{% endmacro %}


{% macro duckdb__read_telemetry(relation, optional_columns, required, batched=false) %}
    {%- set name = relation.identifier -%}
    {%- set raw_dir = var('raw_dir') | string -%}
    {%- set batch_date = task_watts.daily_batch_date() if batched else none -%}
    {%- set file_option = ", filename = true" if batched else "" -%}
    {#- Parquet knows each row's position; the text readers number rows in scan order, which
        follows the sorted file list, so a file's first row is its smallest ordinal. -#}
    {%- set text_row_number = (
        ", ordinality - min(ordinality) over (partition by filename) as file_row_number"
        if batched else ""
    ) -%}
    {%- set template -%}
        (select
        {%- for column, data_type in optional_columns.items() %}
            cast(null as {{ data_type }}) as {{ column }}{{ "," if not loop.last or batched }}
        {%- endfor %}
        {%- if batched %}
            cast(null as string) as filename,
            cast(null as bigint) as file_row_number
        {%- endif %}
        where false)
    {%- endset -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set files = task_watts.telemetry_files(raw_dir, name, batch_date) -%}
    {%- if files | length == 0 -%}
        {%- if required -%}
            {{ exceptions.raise_compiler_error(task_watts.missing_telemetry_message(name, raw_dir, batch_date)) }}
        {%- endif -%}
        {{ return(template) }}
    {%- endif -%}
    {%- set readers = [] -%}
    {%- for extension, paths in files | groupby(0) -%}
        {%- set path_list = "['" ~ (paths | map(attribute=1) | join("', '")) ~ "']" -%}
        {%- if extension == 'parquet' -%}
            {%- do readers.append(
                "select * from read_parquet(" ~ path_list
                ~ ", union_by_name = true, hive_partitioning = false" ~ file_option
                ~ (", file_row_number = true" if batched else "") ~ ")"
            ) -%}
        {%- elif extension == 'csv' -%}
            {%- do readers.append(
                "select * exclude (ordinality)" ~ text_row_number ~ " from read_csv(" ~ path_list
                ~ ", header = true, all_varchar = true, union_by_name = true, hive_partitioning = false"
                ~ file_option ~ ") with ordinality"
            ) -%}
        {%- else -%}
            {%- do readers.append(
                "select * exclude (ordinality)" ~ text_row_number ~ " from read_json(" ~ path_list
                ~ ", format = 'newline_delimited', union_by_name = true, hive_partitioning = false"
                ~ file_option ~ ") with ordinality"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set body -%}
        (select * from {{ template }}
        {%- for reader in readers %}
        union all by name
        {{ reader }}
        {%- endfor %})
    {%- endset -%}
    {{ return(body) }}
{% endmacro %}


{#
    List (extension, path) pairs of the files holding telemetry `name` under
    `raw_dir`, sorted so that reruns read files in the same order. With a
    `batch_date`, only the files of that day's partition folder.
#}
{% macro telemetry_files(raw_dir, name, batch_date=none) %}
    {%- set extensions = ['parquet', 'csv', 'jsonl', 'ndjson', 'json'] -%}
    {%- set globs = [] -%}
    {%- for extension in extensions -%}
        {%- if batch_date is none -%}
            {%- set patterns = [name ~ "." ~ extension, name ~ "/**/*." ~ extension] -%}
        {%- else -%}
            {%- set patterns = [name ~ "/date=" ~ batch_date ~ "/**/*." ~ extension] -%}
        {%- endif -%}
        {%- for pattern in patterns -%}
            {%- do globs.append(
                "select '" ~ extension ~ "' as extension, file from glob('"
                ~ raw_dir ~ "/" ~ pattern ~ "')"
            ) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set query = "select * from (" ~ (globs | join(" union all ")) ~ ") order by file" -%}
    {%- set result = run_query(query) -%}
    {%- set files = [] -%}
    {%- for row in result.rows -%}
        {%- do files.append((row[0], row[1])) -%}
    {%- endfor -%}
    {{ return(files) }}
{% endmacro %}


{# Why a required telemetry input cannot be read, naming the input, the folder and what is expected. #}
{% macro missing_telemetry_message(name, raw_dir, batch_date=none) %}
    {%- if batch_date is not none -%}
        {{ return(
            "No telemetry file for '" ~ name ~ "' of batch " ~ batch_date ~ " in raw_dir '"
            ~ raw_dir ~ "': expected files under " ~ name ~ "/date=" ~ batch_date ~ "/."
        ) }}
    {%- endif -%}
    {{ return(
        "No telemetry file for '" ~ name ~ "' in raw_dir '" ~ raw_dir ~ "': expected "
        ~ name ~ ".parquet, .csv, .jsonl/.ndjson/.json, or a folder " ~ name
        ~ "/**/ of such files. Set TASK_WATTS_RAW_DIR (or --vars raw_dir) to the folder "
        ~ "that holds them."
    ) }}
{% endmacro %}


{#
    on-run-start: fail before any node when a required input has no file. Staging is
    ephemeral, and dbt reports an ephemeral model's compile error on the models that read it
    without its message; failing here first shows the message, and leaves the warehouse as
    it was. On a warehouse the inputs are tables, checked by dbt itself.
#}
{% macro refuse_missing_telemetry() %}
    {{ return(adapter.dispatch('refuse_missing_telemetry', 'task_watts')()) }}
{% endmacro %}


{% macro default__refuse_missing_telemetry() %}
{% endmacro %}


{% macro duckdb__refuse_missing_telemetry() %}
    {%- if execute -%}
        {%- set raw_dir = var('raw_dir') | string -%}
        {%- set batch_date = task_watts.daily_batch_date() -%}
        {%- for name in ['inference_calls', 'task_events'] -%}
            {%- if task_watts.telemetry_files(raw_dir, name, batch_date) | length == 0 -%}
                {{ exceptions.raise_compiler_error(task_watts.missing_telemetry_message(name, raw_dir, batch_date)) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}


{#
    The column types of what read_telemetry returned (name -> DuckDB type, names lower-case),
    read from the files' schemas before the query runs: staging reads a value by its type
    (to_utc_timestamp). Empty while parsing and on a warehouse (values are read the general way).
#}
{% macro telemetry_column_types(telemetry) %}
    {{ return(adapter.dispatch('telemetry_column_types', 'task_watts')(telemetry)) }}
{% endmacro %}


{% macro default__telemetry_column_types(telemetry) %}
    {{ return({}) }}
{% endmacro %}


{% macro duckdb__telemetry_column_types(telemetry) %}
    {{ return(task_watts.described_column_types('describe select * from ' ~ telemetry)) }}
{% endmacro %}


{#- Name (lower case) -> type (upper case) from a DESCRIBE statement's first two columns. -#}
{% macro described_column_types(describe_sql) %}
    {%- if not execute -%}
        {{ return({}) }}
    {%- endif -%}
    {%- set types = {} -%}
    {%- for row in run_query(describe_sql).rows -%}
        {%- do types.update({row[0] | lower: row[1] | upper}) -%}
    {%- endfor -%}
    {{ return(types) }}
{% endmacro %}


{#
    On Spark the raw files are read by the session that runs dbt (task-watts spark,
    python_helpers/spark/session.py): one view per input, `task_watts_raw_<name>`, with the
    same `filename` and `file_row_number` as DuckDB's readers. A missing optional column is
    added as NULL here, as on DuckDB. With no files, the input's source table is read instead
    (telemetry already landed as Spark tables).
#}
{% macro spark__read_telemetry(relation, optional_columns, required, batched=false) %}
    {%- set view = 'task_watts_raw_' ~ relation.identifier -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set views = run_query("show views like '" ~ view ~ "'") -%}
    {%- if views.rows | length == 0 -%}
        {%- if required -%}
            {{ return(relation) }}
        {%- endif -%}
        {%- set empty -%}
            (select
            {%- for column, data_type in optional_columns.items() %}
                cast(null as {{ task_watts.engine_type(data_type) }}) as {{ column }}{{ "," if not loop.last }}
            {%- endfor %}
            where false)
        {%- endset -%}
        {{ return(empty) }}
    {%- endif -%}
    {%- set present = adapter.get_columns_in_relation(api.Relation.create(identifier=view, type='view')) | map(attribute='name') | map('lower') | list -%}
    {%- set body -%}
        (select
            *
            {%- for column, data_type in optional_columns.items() if column | lower not in present %},
            cast(null as {{ task_watts.engine_type(data_type) }}) as {{ column }}
            {%- endfor %}
        from {{ view }})
    {%- endset -%}
    {{ return(body) }}
{% endmacro %}


{% macro spark__telemetry_column_types(telemetry) %}
    {{ return(task_watts.described_column_types('describe query select * from ' ~ telemetry)) }}
{% endmacro %}
