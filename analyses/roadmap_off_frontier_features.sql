-- Features with avoidable carbon in the latest quarter - against the cleanest option the same
-- feature was observed on (frontier_peer: model in region, quarter) - biggest first, with their
-- position a quarter earlier. Start here to ask "what would moving them save?".
with

frontier as (

    select * from {{ ref('mart_quality_frontier') }}

),

latest as (

    select max(quarter_start) as quarter_start
    from frontier

),

final as (

    select
        frontier.feature,
        frontier.quarter_label,
        frontier.quality,
        frontier.task_gco2e,
        frontier.frontier_peer,
        frontier.distance_gco2e_per_task,
        frontier.distance_share,
        frontier.avoidable_gco2e,
        frontier.previous_quality,
        frontier.previous_task_gco2e,
        frontier.previous_is_on_frontier

    from frontier
    inner join latest
        on frontier.quarter_start = latest.quarter_start
    where not frontier.is_on_frontier

)

select * from final
order by avoidable_gco2e desc
