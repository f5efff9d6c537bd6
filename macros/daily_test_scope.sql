{#
    In a daily load, a data test of a table the load merges into reads only
    the rows the load wrote: the day's accepted and quarantined rows, the calls
    it repriced, the tasks it recomputed. The rows of earlier days passed the
    same tests when they were loaded, so testing them again would cost the
    whole warehouse every day. A full build tests every row. The scope of each
    table is var('daily_test_scope') ({schema} is the table's own schema); a
    test's own `where` config still applies. A test whose verdict is about the
    whole table (one pseudonym key across every row, a share of all calls)
    says so with `meta: {whole_table_in_daily_loads: true}` and is not scoped.

    Overrides dbt's get_where_subquery (the hook dbt gives for filtering what a
    generic test reads); singular tests read their refs whole.
#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set whole_table = (config.get('meta') or {}).get('whole_table_in_daily_loads', false) -%}
    {%- set scope = none if whole_table else var('daily_test_scope', {}).get(relation.identifier) -%}
    {%- if scope and task_watts.is_daily_load() -%}
        {%- set schema = adapter.quote(relation.database) ~ '.' ~ adapter.quote(relation.schema) -%}
        {%- do conditions.append('(' ~ scope | replace('{batch_date}', task_watts.batch_date_literal())
            | replace('{schema}', schema) ~ ')') -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
