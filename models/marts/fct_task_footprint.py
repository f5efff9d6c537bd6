"""One row per user-visible task: outcome, attempts and the footprint of all its calls."""

import narwhals as nw

from python_helpers.formula.footprint import roll_up_tasks


def model(dbt, session):
    dbt.config(materialized="table")
    call_footprint = nw.from_native(dbt.ref("fct_inference_call_footprint"))
    tasks = nw.from_native(dbt.ref("int_tasks__matured"))
    return nw.to_native(roll_up_tasks(call_footprint, tasks))
