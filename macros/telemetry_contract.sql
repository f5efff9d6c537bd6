{#
    The raw telemetry contract, read from where it is declared: its columns
    are those of the staging model stg_telemetry__<input> whose
    config.meta.contract is set (models/staging/telemetry/_telemetry__models.yml
    explains the keys), its row rules the var telemetry_row_rules. Every macro
    below derives SQL from them, so a column, type, range or reason changed
    there changes staging, validation and quarantine at once (and the gate,
    which reads the same declarations).

    The graph is only known at execution; while dbt parses, these macros
    return nothing, which is all parsing needs.
#}
{% macro telemetry_contract(input_name) %}
    {%- if not execute -%}
        {{ return({'columns': [], 'row_key': none}) }}
    {%- endif -%}
    {%- set node = graph.nodes['model.task_watts.stg_telemetry__' ~ input_name] -%}
    {%- set columns = [] -%}
    {%- for name, column in node.columns.items() -%}
        {%- set meta = (column.config or {}).get('meta') or column.meta or {} -%}
        {%- if 'contract' in meta -%}
            {%- set rules = meta.contract -%}
            {%- do columns.append({
                'name': name,
                'raw_name': rules.get('raw_name', name),
                'data_type': column.data_type,
                'rules': rules,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'columns': columns, 'row_key': node.config.meta.contract.row_key}) }}
{% endmacro %}


{#- A range bound: a number, or the name of a dbt var holding one. -#}
{% macro contract_bound(value) %}
    {{ return(var(value) if value is string else value) }}
{% endmacro %}


{#
    The staged columns, in the contract's order: "col_a,\n col_b, ..." with a
    trailing comma when `trailing_comma`; prefixed with `relation.` if given.
#}
{% macro contract_columns(input_name, relation=none, trailing_comma=false) %}
    {%- set columns = task_watts.telemetry_contract(input_name).columns -%}
    {%- for column in columns %}
        {{ relation ~ '.' if relation else '' }}{{ column.name }}{{ ',' if trailing_comma or not loop.last }}
    {%- endfor %}
{% endmacro %}


{#- Raw name -> SQL type of the columns a file may omit (read_telemetry fills them with null). -#}
{% macro contract_optional_columns(input_name) %}
    {%- set optional = {} -%}
    {%- for column in task_watts.telemetry_contract(input_name).columns
        if column.rules.get('optional', false) and 'key_id_of' not in column.rules -%}
        {%- do optional.update({column.raw_name: column.data_type}) -%}
    {%- endfor -%}
    {{ return(optional) }}
{% endmacro %}


{#
    The raw columns typed to the contract (one select-list item each, with a
    trailing comma): timestamps to UTC from ISO text or epoch numbers, ids
    trimmed with blank as empty, codes lower-cased, the id of the pseudonym key;
    a column to pseudonymise is still in clear here (staged_contract_rows
    hashes it once per distinct value).
#}
{% macro contract_typed_columns(input_name, source_types={}) %}
    {%- for column in task_watts.telemetry_contract(input_name).columns %}
        {%- set rules = column.rules -%}
        {%- if 'key_id_of' in rules %}
        cast({{ task_watts.pseudonym_key_id() }} as varchar)
        {%- elif rules.get('pseudonymise', false) %}
        {#- in clear only inside this query: staged_contract_rows swaps it for its pseudonym #}
        cast({{ column.raw_name }} as varchar)
        {%- elif column.data_type == 'timestamp' %}
        {{ task_watts.to_utc_timestamp(column.raw_name, source_types.get(column.raw_name | lower)) }}
        {%- elif rules.get('blank_is_null', false) %}
        cast({{ task_watts.blank_to_null(column.raw_name) }} as {{ column.data_type }})
        {%- elif rules.get('lowercase', false) %}
        cast(lower({{ column.raw_name }}) as {{ column.data_type }})
        {%- else %}
        cast({{ column.raw_name }} as {{ column.data_type }})
        {%- endif %} as {{ column.name }},
    {%- endfor %}
{% endmacro %}


{#- A content hash of the staged contract columns (of `relation` if given): orders copies of one id. -#}
{% macro contract_row_hash(input_name, relation=none) %}
    {%- set columns = task_watts.telemetry_contract(input_name).columns -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    md5(concat_ws('|', {{ prefix }}{{ columns | rejectattr('rules.key_id_of', 'defined')
        | map(attribute='name') | join(', ' ~ prefix) }}))
{% endmacro %}


{#
    The contract's row rules (var telemetry_row_rules) as reason -> [boolean
    SQL conditions] on the columns of `relation`: every range and every pair.
    A model ORs each list into its is_<reason> flag. Vars, not the graph: the
    validated models' unit tests compile without one.
#}
{% macro contract_rule_conditions(input_name, relation) %}
    {%- set rules = var('telemetry_row_rules')[input_name] -%}
    {%- set conditions = {} -%}
    {%- for range in rules.ranges -%}
        {%- for column in range.columns -%}
            {%- set qualified = relation ~ '.' ~ column -%}
            {%- if 'min' in range -%}
                {%- do conditions.setdefault(range.below, []).append(
                    qualified ~ ' < ' ~ task_watts.contract_bound(range.min)) -%}
            {%- endif -%}
            {%- if 'max' in range -%}
                {%- do conditions.setdefault(range.above, []).append(
                    qualified ~ ' > ' ~ task_watts.contract_bound(range.max)) -%}
            {%- endif -%}
            {%- if range.get('finite', false) -%}
                {%- do conditions.setdefault(range.get('below', range.get('above')), []).append(
                    task_watts.is_non_finite(qualified) | trim) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for pair in rules.pairs -%}
        {%- set other = pair.at_most if 'at_most' in pair else pair.at_least -%}
        {%- do conditions.setdefault(pair.reason, []).append(
            relation ~ '.' ~ pair.column ~ (' > ' if 'at_most' in pair else ' < ')
            ~ relation ~ '.' ~ other) -%}
    {%- endfor -%}
    {{ return(conditions) }}
{% endmacro %}


{#- One flag from a list of conditions: true when any holds, false when none does or all are null. -#}
{% macro any_of(conditions) -%}
    {%- set sql = conditions | join(' or ') if conditions else 'false' -%}
    coalesce({{ sql.split() | join(' ') }}, false)
{%- endmacro %}


{#
    The (reason, flag) pairs of the quarantine: the contract's row rules (each
    flag is_<reason>, set by the validated model) and then `other_rules`.
#}
{% macro quarantine_rules(input_name, other_rules) %}
    {%- set rules = [] -%}
    {%- for reason in task_watts.contract_rule_conditions(input_name, 'x') -%}
        {%- do rules.append((reason, 'is_' ~ reason)) -%}
    {%- endfor -%}
    {%- for rule in other_rules if rule[0] not in rules | map(attribute=0) | list -%}
        {%- do rules.append(rule) -%}
    {%- endfor -%}
    {{ return(rules) }}
{% endmacro %}


{#
    A staging model's logical CTEs after its `source` import: `typed` (the
    contract columns read as the contract says, by their raw types
    `source_types` when known (telemetry_column_types), plus the file and row each
    came from), `pseudonyms` (the keyed hash of each distinct value of a
    column to pseudonymise: the hash is a Python function, so it runs once per
    user, not once per row) and `final` (the contract columns, the clear
    value replaced by its pseudonym, and the load bookkeeping). Emits
    "typed as (...), ..., final as (...)".
#}
{% macro staged_contract_rows(input_name, source_types={}) %}
    {%- set pseudonymised = task_watts.telemetry_contract(input_name).columns
        | selectattr('rules.pseudonymise', 'defined') | map(attribute='name') | list -%}
typed as (

    select
        {{- task_watts.contract_typed_columns(input_name, source_types) }}
        cast(filename as varchar) as source_file,
        cast(file_row_number as bigint) + 1 as source_row_number

    from source

),

{% for column in pseudonymised -%}
pseudonyms_{{ column }} as (

    select
        clear_value,
        cast({{ task_watts.hash_user_id('clear_value') }} as varchar) as pseudonym
    from (select distinct {{ column }} as clear_value from typed) as distinct_values

),

{% endfor -%}
final as (

    select
        {% for column in task_watts.telemetry_contract(input_name).columns -%}
            {% if column.name in pseudonymised -%}
                pseudonyms_{{ column.name }}.pseudonym as {{ column.name }},
            {% else -%}
                typed.{{ column.name }},
            {% endif -%}
        {% endfor -%}
        {{ task_watts.row_identity_columns() }}

    from typed
    {% for column in pseudonymised -%}
        left join pseudonyms_{{ column }}
            on typed.{{ column }} = pseudonyms_{{ column }}.clear_value
    {% endfor %}
)
{% endmacro %}
