{#
    Software Carbon Intensity per feature and quarter (GSF SCI specification,
    ISO/IEC 21031:2024): SCI = (E x I + M) per R, where
    E = facility energy of all the feature's inference calls (kWh),
    I = location-based grid intensity (the energy-weighted mean actually used, gCO2e/kWh),
    M = embodied accelerator emissions amortised over the calls (gCO2e),
    R = one completed task (the functional unit).
    Boundary: inference serving (accelerators, host CPU/DRAM and idle reserve,
    data-centre overhead via PUE); training, networking and end-user devices
    are outside it. Market instruments are excluded, as the SCI requires.
#}

with

feature_quarter as (

    select * from {{ ref('mart_feature_quarter') }}

),

final as (

    select
        feature_quarter_id,
        feature,
        quarter_start,
        quarter_label,
        facility_wh / 1000.0 as energy_kwh,
        gco2e_location * 1000.0 / nullif(facility_wh, 0) as intensity_gco2e_per_kwh,
        gco2e_location as operational_gco2e,
        gco2e_embodied as embodied_gco2e,
        completed_tasks as functional_units,
        (gco2e_location + gco2e_embodied) / nullif(completed_tasks, 0) as sci_gco2e_per_task,
        task_gco2e_low + gco2e_embodied / nullif(completed_tasks, 0) as sci_gco2e_per_task_low,
        task_gco2e_high + gco2e_embodied / nullif(completed_tasks, 0) as sci_gco2e_per_task_high,
        gco2e_embodied / nullif(gco2e_location + gco2e_embodied, 0) as embodied_share,
        'one completed user-visible task' as functional_unit,
        'inference serving: accelerator + host CPU/DRAM + idle reserve + data-centre overhead (PUE);'
        || ' retries and uncompleted tasks charged to completed ones; excludes training, network, end-user devices'
            as software_boundary,
        'location-based grid intensity (no market instruments); per-token energy coefficients'
        || ' (measured where the serving layer logs it); embodied = accelerator + server share amortised'
        || ' over lifetime hours, shared by the batch' as calculation_method

    from feature_quarter

)

select * from final
