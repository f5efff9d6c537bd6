{#
    A row the quarantine lists as a duplicate lost to another copy of its id,
    so the accepted table holds that id (from this load or an earlier day).
    The quarantine does not judge rows a second time: a row that broke no
    rule and is not accepted is reported as a duplicate (macros/quarantine.sql).
    This test is what keeps that honest: a row missing from the accepted
    table for any other reason would be listed here. Returns each such row
    with its id.
#}
{% test has_an_accepted_copy(model, column_name, accepted, reason) %}

with

quarantined as (

    select * from {{ model }}

),

accepted as (

    select * from {{ accepted }}

),

duplicates as (

    select
        source_row_id,
        {{ column_name }} as row_key
    from quarantined
    where reason = '{{ reason }}'

),

final as (

    select duplicates.*
    from duplicates
    left join accepted
        on duplicates.row_key = accepted.{{ column_name }}
    where accepted.{{ column_name }} is null

)

select * from final

{% endtest %}
