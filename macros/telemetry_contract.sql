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
            {%- if rules.get('pseudonymise', false) and rules.get('raw_name', name) == name -%}
                {#- The stored models select the contract name: it must never be the clear value's. -#}
                {{ exceptions.raise_compiler_error(
                    "Column '" ~ name ~ "' of stg_telemetry__" ~ input_name ~ " is marked pseudonymise "
                    ~ "but has no raw_name of its own: staging keeps the clear value under its raw "
                    ~ "name and the stored models keep the pseudonym under the contract name, so the "
                    ~ "two must differ (e.g. raw_name: user_id, name: user_id_hash)."
                ) }}
            {%- endif -%}
            {%- do columns.append({
                'name': name,
                'raw_name': rules.get('raw_name', name),
                'data_type': task_watts.engine_type(column.data_type),
                'rules': rules,
            }) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return({'columns': columns, 'row_key': node.config.meta.contract.row_key}) }}
{% endmacro %}


{#
    on-run-start: read both inputs' contracts before any node runs, so a
    declaration telemetry_contract refuses (a column to pseudonymise without a
    raw name of its own) stops the run with its message; raised inside an
    ephemeral model, dbt would report it on the models reading it, without
    the message. Emits no SQL.
#}
{% macro refuse_unsafe_contract() %}
    {%- if execute -%}
        {%- for input_name in ['inference_calls', 'task_events'] -%}
            {%- do task_watts.telemetry_contract(input_name) -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}


{#- A range bound: a number, or the name of a dbt var holding one. -#}
{% macro contract_bound(value) %}
    {{ return(var(value) if value is string else value) }}
{% endmacro %}


{#
    The stored contract columns, in the contract's order: "col_a,\n col_b,
    ..." with a trailing comma when `trailing_comma`; prefixed with
    `relation.` if given. `relation` carries the pseudonym of a column to
    pseudonymise under the contract name (pseudonym_columns); the clear value,
    under its raw name, is never selected.
#}
{% macro contract_columns(input_name, relation=none, trailing_comma=false) %}
    {%- set columns = task_watts.telemetry_contract(input_name).columns -%}
    {%- for column in columns %}
        {{ relation ~ '.' if relation else '' }}{{ column.name }}{{ ',' if trailing_comma or not loop.last }}
    {%- endfor %}
{% endmacro %}


{#
    The keyed pseudonym of every distinct value that the columns to
    pseudonymise of `input_name` carry in `relation` (raw rows, or staged ones:
    the clear value is read as staging reads it, clear_value): one row per
    value, (clear_value, pseudonym). The keyed hash is a Python function, so
    it runs once per distinct value. A select statement, for a CTE's body.
#}
{% macro distinct_pseudonyms(input_name, relation) %}
    {%- set columns = [] -%}
    {%- for column in task_watts.telemetry_contract(input_name).columns
        if column.rules.get('pseudonymise', false) -%}
        {%- do columns.append(column) -%}
    {%- endfor %}
    select
        clear_value,
        cast({{ task_watts.hash_user_id('clear_value') }} as string) as pseudonym
    from (
        {% for column in columns -%}
        select {{ task_watts.clear_value(column.raw_name) }} as clear_value
        from {{ relation }}
        {{ 'union' if not loop.last }}
        {% endfor -%}
        {%- if not columns -%}
        select cast(null as string) as clear_value
        where false
        {%- endif %}
    ) as clear_values
    group by clear_value
{% endmacro %}


{#- A raw value to pseudonymise as staging keeps it, in clear, inside the query. -#}
{% macro clear_value(raw_name) -%}
    cast({{ raw_name }} as string)
{%- endmacro %}


{#
    The contract name of each column to pseudonymise, selected from a lookup
    of distinct_pseudonyms (one select-list item each, trailing comma), and
    the matching left joins of `lookup` for the `from` (`pseudonym_joins`),
    once per such column, aliased pseudonyms_<column>.
#}
{% macro pseudonym_columns(input_name) %}
    {%- for column in task_watts.telemetry_contract(input_name).columns
        if column.rules.get('pseudonymise', false) %}
        pseudonyms_{{ column.name }}.pseudonym as {{ column.name }},
    {%- endfor %}
{% endmacro %}


{% macro pseudonym_joins(input_name, relation, lookup) %}
    {%- for column in task_watts.telemetry_contract(input_name).columns
        if column.rules.get('pseudonymise', false) %}
    left join {{ lookup }} as pseudonyms_{{ column.name }}
        on {{ relation }}.{{ column.raw_name }} = pseudonyms_{{ column.name }}.clear_value
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
    a column to pseudonymise is still in clear here, under its raw name
    (the checked model swaps in its pseudonym: pseudonym_columns).
#}
{% macro contract_typed_columns(input_name, source_types={}) %}
    {%- for column in task_watts.telemetry_contract(input_name).columns %}
        {%- set rules = column.rules -%}
        {#- in clear, under its raw name, only inside the query: the stored models swap it for its pseudonym #}
        {%- set staged_name = column.raw_name if rules.get('pseudonymise', false) else column.name -%}
        {%- if 'key_id_of' in rules %}
        cast({{ task_watts.pseudonym_key_id() }} as string)
        {%- elif rules.get('pseudonymise', false) %}
        {{ task_watts.clear_value(column.raw_name) }}
        {%- elif column.data_type == 'timestamp' %}
        {{ task_watts.to_utc_timestamp(column.raw_name, source_types.get(column.raw_name | lower)) }}
        {%- elif rules.get('blank_is_null', false) %}
        cast({{ task_watts.blank_to_null(column.raw_name) }} as {{ column.data_type }})
        {%- elif rules.get('lowercase', false) %}
        cast(lower({{ column.raw_name }}) as {{ column.data_type }})
        {%- else %}
        cast({{ column.raw_name }} as {{ column.data_type }})
        {%- endif %} as {{ staged_name }},
    {%- endfor %}
{% endmacro %}


{#- A content hash of the checked contract columns (of `relation` if given), pseudonyms in place of
    clear values (as stored, so the hash does not depend on the raw id): orders copies of one id. -#}
{% macro contract_row_hash(input_name, relation=none) %}
    {%- set columns = task_watts.telemetry_contract(input_name).columns -%}
    {%- set prefix = relation ~ '.' if relation else '' -%}
    md5(concat_ws('|'
        {%- for column in columns if 'key_id_of' not in column.rules -%}
            , {{ prefix }}{{ column.name }}
        {%- endfor %}))
{% endmacro %}


{#
    The contract's row rules (var telemetry_row_rules) as reason -> [boolean
    SQL conditions] on the columns of `relation`: every range and every pair.
    A model ORs each list into its is_<reason> flag. Vars, not the graph: the
    checked models' unit tests compile without one.
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
    flag is_<reason>, set by the checked model) and then `other_rules`.
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
    came from) and `final` (those and the load bookkeeping). A column to
    pseudonymise stays in clear under its raw name: only the models that
    store rows keep only its pseudonym (pseudonym_columns).
    Emits "typed as (...), final as (...)".
#}
{% macro staged_contract_rows(input_name, source_types={}) %}
typed as (

    select
        {{- task_watts.contract_typed_columns(input_name, source_types) }}
        cast(filename as string) as source_file,
        cast(file_row_number as bigint) + 1 as source_row_number

    from source

),

final as (

    select
        typed.*,
        {{ task_watts.batch_date_of('typed.source_file') }} as batch_date

    from typed

)
{% endmacro %}
