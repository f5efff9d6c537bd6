{#
    Resolve a telemetry source to something a staging model can select from.

    On a warehouse (Snowflake, BigQuery, Databricks) telemetry lands as tables,
    so the source relation is used as it is. On embedded DuckDB the telemetry is
    a folder of files: `<raw_dir>/<name>.{parquet,csv,jsonl,ndjson,json}` or a
    partitioned folder `<raw_dir>/<name>/**/*.<ext>`, the format detected by
    extension. `optional_columns` (name -> SQL type) are filled with NULL when
    a file does not carry them, so an optional contract column never breaks a
    load; a missing required column still fails with the column's name.
#}
{% macro read_telemetry(relation, optional_columns={}, required=true) %}
    {{ return(adapter.dispatch('read_telemetry', 'task_watts')(relation, optional_columns, required)) }}
{% endmacro %}


{% macro default__read_telemetry(relation, optional_columns, required) %}
    {{ return(relation) }}
{% endmacro %}


{% macro duckdb__read_telemetry(relation, optional_columns, required) %}
    {%- set name = relation.identifier -%}
    {%- set raw_dir = var('raw_dir') | string -%}
    {%- set template -%}
        (select
        {%- for column, data_type in optional_columns.items() %}
            cast(null as {{ data_type }}) as {{ column }}{{ "," if not loop.last }}
        {%- endfor %}
        where false)
    {%- endset -%}
    {%- if not execute -%}
        {{ return(relation) }}
    {%- endif -%}
    {%- set files = task_watts.telemetry_files(raw_dir, name) -%}
    {%- if files | length == 0 -%}
        {%- if required -%}
            {{ exceptions.raise_compiler_error(
                "No telemetry file for '" ~ name ~ "' in raw_dir '" ~ raw_dir ~ "': expected "
                ~ name ~ ".parquet, .csv, .jsonl/.ndjson/.json, or a folder " ~ name
                ~ "/**/ of such files. Set TASK_WATTS_RAW_DIR (or --vars raw_dir) to the folder "
                ~ "that holds them."
            ) }}
        {%- endif -%}
        {{ return(template) }}
    {%- endif -%}
    {%- set readers = [] -%}
    {%- for extension, paths in files | groupby(0) -%}
        {%- set path_list = "['" ~ (paths | map(attribute=1) | join("', '")) ~ "']" -%}
        {%- if extension == 'parquet' -%}
            {%- do readers.append(
                "select * from read_parquet(" ~ path_list
                ~ ", union_by_name = true, hive_partitioning = false)"
            ) -%}
        {%- elif extension == 'csv' -%}
            {%- do readers.append(
                "select * from read_csv(" ~ path_list
                ~ ", header = true, union_by_name = true, hive_partitioning = false)"
            ) -%}
        {%- else -%}
            {%- do readers.append(
                "select * from read_json(" ~ path_list
                ~ ", format = 'newline_delimited', union_by_name = true, hive_partitioning = false)"
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
    `raw_dir`, sorted so that reruns read files in the same order.
#}
{% macro telemetry_files(raw_dir, name) %}
    {%- set extensions = ['parquet', 'csv', 'jsonl', 'ndjson', 'json'] -%}
    {%- set globs = [] -%}
    {%- for extension in extensions -%}
        {%- for pattern in [name ~ "." ~ extension, name ~ "/**/*." ~ extension] -%}
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
