-- Per feature, every model it was observed on, quarter by quarter, beside the catalogue's
-- floors: the evidence behind mart_routing_what_if. A model cheaper per token but with a
-- lower completion rate shows up here with a higher task_gco2e (the trap).
with

evidence as (

    select * from {{ ref('mart_feature_model_quarter') }}

),

feature_catalogue as (

    select * from {{ ref('feature_catalogue') }}

),

final as (

    select
        evidence.feature,
        evidence.quarter_label,
        evidence.model,
        evidence.model_tier,
        evidence.tasks,
        evidence.completion_rate,
        feature_catalogue.quality_floor,
        evidence.completion_rate >= feature_catalogue.quality_floor as meets_floor,
        evidence.retries_per_task,
        evidence.task_wh,
        evidence.task_gco2e,
        evidence.p95_attempt_latency_ms,
        feature_catalogue.latency_target_ms,
        evidence.p95_attempt_latency_ms <= feature_catalogue.latency_target_ms as meets_latency

    from evidence
    inner join feature_catalogue
        on evidence.feature = feature_catalogue.feature

)

select * from final
order by feature, quarter_label, model
