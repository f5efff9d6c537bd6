{#
    Pseudonymise a user id with a salt taken from the environment, so that the
    clear id never leaves staging and two deployments with different salts
    cannot be joined on it. The salt is rendered into compiled SQL under
    target/, which is why target/ is never committed or shared.
#}
{% macro hash_user_id(column) %}
    {{ return(adapter.dispatch('hash_user_id', 'task_watts')(column)) }}
{% endmacro %}


{% macro default__hash_user_id(column) %}
    sha2(concat('{{ env_var("TASK_WATTS_USER_ID_SALT", "task-watts-dev-salt") }}', {{ column }}), 256)
{% endmacro %}


{% macro duckdb__hash_user_id(column) %}
    sha256(concat('{{ env_var("TASK_WATTS_USER_ID_SALT", "task-watts-dev-salt") }}', {{ column }}))
{% endmacro %}


{% macro bigquery__hash_user_id(column) %}
    to_hex(sha256(concat('{{ env_var("TASK_WATTS_USER_ID_SALT", "task-watts-dev-salt") }}', {{ column }})))
{% endmacro %}
