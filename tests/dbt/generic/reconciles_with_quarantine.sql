{#
    Nothing is lost: for every batch of the current load, the staged (raw) rows
    equal the rows accepted from it plus the rows quarantined as rejected from
    it, matched on source_row_id. Returns one row per batch whose books do not
    balance.
#}
{% test reconciles_with_quarantine(model, accepted, quarantine) %}

with

staged as (

    select * from {{ model }}

),

accepted as (

    select * from {{ accepted }}

),

quarantined as (

    select * from {{ quarantine }}

),

raw_rows as (

    select
        batch_date,
        count(*) as raw_rows
    from staged
    group by batch_date

),

accepted_rows as (

    select
        accepted.batch_date,
        count(*) as accepted_rows
    from accepted
    inner join staged
        on accepted.source_row_id = staged.source_row_id
    group by accepted.batch_date

),

rejected_rows as (

    select
        quarantined.batch_date,
        count(distinct quarantined.source_row_id) as rejected_rows
    from quarantined
    inner join staged
        on quarantined.source_row_id = staged.source_row_id
    where quarantined.is_rejected
    group by quarantined.batch_date

),

final as (

    select
        raw_rows.batch_date,
        raw_rows.raw_rows,
        coalesce(accepted_rows.accepted_rows, 0) as accepted_rows,
        coalesce(rejected_rows.rejected_rows, 0) as rejected_rows
    from raw_rows
    left join accepted_rows
        on raw_rows.batch_date is not distinct from accepted_rows.batch_date
    left join rejected_rows
        on raw_rows.batch_date is not distinct from rejected_rows.batch_date
    where
        raw_rows.raw_rows
        != coalesce(accepted_rows.accepted_rows, 0) + coalesce(rejected_rows.rejected_rows, 0)

)

select * from final

{% endtest %}
