{#
    Pseudonymise a user id with a keyed hash (HMAC-SHA-256) whose key never
    appears in SQL: the macro emits a call to `task_watts_pseudonym(...)`, a
    function the warehouse session provides. On DuckDB the dbt-duckdb plugin
    python_helpers/ops/pseudonym_plugin.py registers it on the connection with
    the key from TASK_WATTS_PSEUDONYM_KEY (or the file TASK_WATTS_PSEUDONYM_KEY_FILE);
    on Spark the same name is a pandas UDF that `task-watts spark` registers on
    the session (python_helpers/spark/session.py). So the key is never in compiled SQL, the manifest or logs.
#}
{% macro hash_user_id(column) %}
    {{ return(adapter.dispatch('hash_user_id', 'task_watts')(column)) }}
{% endmacro %}


{% macro default__hash_user_id(column) %}
    task_watts_pseudonym({{ column }})
{% endmacro %}


{#
    Which key made the pseudonyms: its public id (a hash of a constant under
    the key, never the key), or 'public-demo-key'. Stored beside each pseudonym.
#}
{% macro pseudonym_key_id() %}
    {{ return(adapter.dispatch('pseudonym_key_id', 'task_watts')()) }}
{% endmacro %}


{% macro default__pseudonym_key_id() %}
    task_watts_pseudonym_key_id()
{% endmacro %}


{#- Spark: the (public) key id as a literal, read once, instead of a Python call per row. -#}
{% macro spark__pseudonym_key_id() %}
    {%- if execute -%}
        '{{ run_query("select task_watts_pseudonym_key_id()").columns[0].values()[0] }}'
    {%- else -%}
        task_watts_pseudonym_key_id()
    {%- endif -%}
{% endmacro %}


{#
    Where the key of this build comes from, and a refusal to pseudonymise real
    telemetry under the public demo key. Returns 'configured' (a key is set),
    'sample' (no key; the raw folder is the generated sample, which carries the
    marker file _task_watts_sample) or 'public_key_opt_out' (no key, and
    TASK_WATTS_ALLOW_PUBLIC_KEY=1: a throwaway warehouse, labelled as such).
    Anything else is a compile error naming the variable to set.
#}
{% macro pseudonym_key_source() %}
    {%- if not execute -%}
        {{ return('unknown') }}
    {%- endif -%}
    {%- set key_id = run_query('select ' ~ task_watts.pseudonym_key_id()).columns[0].values()[0] -%}
    {%- if key_id != 'public-demo-key' -%}
        {{ return('configured') }}
    {%- endif -%}
    {%- set raw_dir = var('raw_dir') | string -%}
    {%- if task_watts.is_generated_sample(raw_dir) -%}
        {{ return('sample') }}
    {%- endif -%}
    {%- if env_var('TASK_WATTS_ALLOW_PUBLIC_KEY', '') == '1' -%}
        {{ return('public_key_opt_out') }}
    {%- endif -%}
    {{ exceptions.raise_compiler_error(
        "No pseudonymisation key is set, and raw_dir '" ~ raw_dir ~ "' is not the generated "
        ~ "sample: user ids would be hashed under the public demo key, which anyone can "
        ~ "reverse. Set TASK_WATTS_PSEUDONYM_KEY (a long random secret, e.g. "
        ~ "python -c 'import secrets; print(secrets.token_hex(32))') or "
        ~ "TASK_WATTS_PSEUDONYM_KEY_FILE (a file holding it). For a throwaway experiment only, "
        ~ "TASK_WATTS_ALLOW_PUBLIC_KEY=1 builds under the public key and labels the warehouse "
        ~ "so (docs/operations.md#pseudonymisation-key)."
    ) }}
{% endmacro %}


{#
    on-run-start: refuse real telemetry under the public key before any node
    runs, so a refused build leaves the warehouse as it was (the staging model
    checks again, for a run that skips hooks). Emits no SQL.
#}
{% macro refuse_public_key_on_real_data() %}
    {%- do task_watts.pseudonym_key_source() -%}
{% endmacro %}


{#- Whether raw_dir is the generated sample: it carries the marker file _task_watts_sample. -#}
{% macro is_generated_sample(raw_dir) %}
    {{ return(adapter.dispatch('is_generated_sample', 'task_watts')(raw_dir)) }}
{% endmacro %}


{% macro default__is_generated_sample(raw_dir) %}
    {%- set marker = run_query(
        "select count(*) from glob('" ~ raw_dir ~ "/_task_watts_sample')"
    ).columns[0].values()[0] -%}
    {{ return(marker > 0) }}
{% endmacro %}


{#- Spark SQL cannot list files: the session that runs dbt looked (task_watts_raw_dir view). -#}
{% macro spark__is_generated_sample(raw_dir) %}
    {%- set found = run_query("show views like 'task_watts_raw_dir'") -%}
    {%- if found.rows | length == 0 -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(run_query("select is_generated_sample from task_watts_raw_dir").columns[0].values()[0]) }}
{% endmacro %}
