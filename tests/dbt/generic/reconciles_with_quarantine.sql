{#
    Nothing is lost: for every batch of the current load, the rows of the raw
    files (`raw`, the telemetry source) equal the rows accepted from that
    batch plus the raw rows quarantined as rejected from it. Counted per
    batch, so the test reads each table once instead of matching rows, and
    counts the raw files' rows without parsing them. Returns one row per
    batch whose books do not balance.
#}
{% test reconciles_with_quarantine(model, raw, quarantine) %}

with

accepted as (

    select * from {{ model }}

),

raw_files as (

    select
        filename,
        count(*) as raw_rows
    from {{ task_watts.read_telemetry(raw, batched=true) }} as raw_read
    group by filename

),

quarantined as (

    select * from {{ quarantine }}

),

raw_rows as (

    select
        {{ task_watts.batch_date_of('filename') }} as batch_date,
        sum(raw_rows) as raw_rows
    from raw_files
    group by {{ task_watts.batch_date_of('filename') }}

),

accepted_rows as (

    select
        batch_date,
        count(*) as accepted_rows
    from accepted
    {% if task_watts.is_daily_load() -%}
        where batch_date = {{ task_watts.batch_date_literal() }}
    {%- endif %}
    group by batch_date

),

rejected_rows as (

    select
        batch_date,
        count(distinct source_row_id) as rejected_rows
    from quarantined
    where
        is_rejected
        {% if task_watts.is_daily_load() -%}
            and batch_date = {{ task_watts.batch_date_literal() }}
        {%- endif %}
    group by batch_date

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
