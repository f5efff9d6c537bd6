{#
    The MetricFlow time spine: one row per UTC day. MetricFlow joins metrics to
    it for metric_time and derives week, month, quarter and year from the day.
    Built with dbt's own date_spine macro (generate_series underneath), so it
    needs no package. The range covers the sample (2026) with room either side;
    widen it if your telemetry starts earlier or runs past 2035.
#}

with

days as (

    {{ dbt.date_spine(
        'day',
        "cast('2020-01-01' as date)",
        "cast('2036-01-01' as date)"
    ) }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final
