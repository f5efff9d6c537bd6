{#
    Every row's key must find a parent row (e.g. every inference call a task).
    Unlike `relationships`, an empty key counts as unmapped, and a tolerance
    (share of rows, default var('max_unmapped_call_share')) lets a team accept
    a known level of untagged traffic while it is being fixed. Returns the
    unmapped rows, with the totals, only when the share exceeds the tolerance.
#}
{% test maps_to_parent(model, column_name, to, field, max_unmapped_share=none) %}

{%- set tolerance = max_unmapped_share if max_unmapped_share is not none
    else var('max_unmapped_call_share') -%}

with

child as (

    select {{ column_name }} as child_key from {{ model }}

),

parent as (

    select distinct {{ field }} as parent_key from {{ to }}

),

unmapped as (

    select child.child_key
    from child
    left join parent
        on child.child_key = parent.parent_key
    where parent.parent_key is null

),

totals as (

    select
        (select count(*) from unmapped) as unmapped_rows,
        (select count(*) from child) as total_rows

),

final as (

    select
        unmapped.child_key as unmapped_{{ column_name }},
        totals.unmapped_rows,
        totals.total_rows,
        {{ tolerance }} as max_unmapped_share
    from unmapped
    cross join totals
    where totals.unmapped_rows > {{ tolerance }} * totals.total_rows

)

select * from final

{% endtest %}
