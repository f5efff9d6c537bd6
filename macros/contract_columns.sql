{#
    The staged columns of a raw input, in the contract's order (user ids only
    as their keyed hash, beside the key's id): the one list the staging,
    accepted and quarantine models select, so a column added to the contract
    is added everywhere at once.
    Emits "col_a,\n col_b, ..." with a trailing comma when `trailing_comma`.
#}
{% macro contract_columns(input_name, relation=none, trailing_comma=false) %}
    {%- set columns = {
        'inference_calls': [
            'call_id', 'task_id', 'started_at', 'ended_at', 'model', 'provider', 'region',
            'gpu_type', 'gpu_count', 'batch_size', 'input_tokens', 'cached_input_tokens',
            'output_tokens', 'status', 'measured_energy_j',
        ],
        'task_events': [
            'event_id', 'task_id', 'feature', 'event_type', 'event_at', 'user_id_hash',
            'user_pseudonym_key_id', 'quality_score',
        ],
    }[input_name] -%}
    {%- for column in columns %}
        {{ relation ~ '.' if relation else '' }}{{ column }}{{ ',' if trailing_comma or not loop.last }}
    {%- endfor %}
{% endmacro %}
