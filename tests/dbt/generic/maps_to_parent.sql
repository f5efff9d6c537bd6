{#
    Every row's key should find a parent row (e.g. every inference call a task
    with events). Unlike `relationships`, it measures what is missing instead
    of failing on the first orphan: when any row is unmapped it returns ONE
    summary row - how many rows, which share of rows, which share of
    `weight` (e.g. facility energy), the tolerance and the --vars that would
    accept it - and `severity_level` 1 (a warning: the share is within the
    tolerance var('max_unmapped_call_share')) or 2 (an error: above it).
    Run with --store-failures (or read the log) to see the row.
#}
{% test maps_to_parent(model, column_name, to, field, weight=none, max_unmapped_share=none) %}

{{ config(fail_calc='coalesce(max(severity_level), 0)', warn_if='>=1', error_if='>=2', store_failures=true) }}

{%- set tolerance = max_unmapped_share if max_unmapped_share is not none
    else var('max_unmapped_call_share') -%}

with

child as (

    select
        {{ column_name }} as child_key,
        {{ weight if weight is not none else '1.0' }} as weight
    from {{ model }}

),

parent as (

    select distinct {{ field }} as parent_key from {{ to }}

),

matched as (

    select
        child.weight,
        parent.parent_key is null as is_unmapped
    from child
    left join parent
        on child.child_key = parent.parent_key

),

summary as (

    select
        sum(case when is_unmapped then 1 else 0 end) as unmapped_rows,
        count(*) as total_rows,
        sum(case when is_unmapped then weight else 0 end) as unmapped_weight,
        sum(weight) as total_weight
    from matched

),

final as (

    select
        unmapped_rows,
        total_rows,
        cast(unmapped_rows as double) / total_rows as unmapped_share,
        unmapped_weight,
        unmapped_weight / nullif(total_weight, 0) as unmapped_weight_share,
        {{ tolerance }} as max_unmapped_share,
        'to accept: --vars ''{max_unmapped_call_share: '
        || cast(round(cast(unmapped_rows as double) / total_rows + 0.0005, 3) as string)
        || '}''' as how_to_accept,
        case when unmapped_rows > {{ tolerance }} * total_rows then 2 else 1 end as severity_level
    from summary
    where unmapped_rows > 0

)

select * from final

{% endtest %}
