"""One row per user-visible task: outcome, attempts and the footprint of all its calls.

Incremental: a daily load recomputes the tasks int_tasks__to_refresh lists (those with an
event or a call in the day, and those pending before it); a full build writes every task."""

import narwhals as nw

from python_helpers.formula.footprint import roll_up_tasks, tasks_to_refresh


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="task_id",
    )
    call_footprint = nw.from_native(dbt.ref("fct_inference_call_footprint"))
    tasks = nw.from_native(dbt.ref("int_tasks__matured"))
    if dbt.is_incremental:
        refresh = nw.from_native(dbt.ref("int_tasks__to_refresh"))
        call_footprint, tasks = tasks_to_refresh(refresh, call_footprint, tasks)
    return nw.to_native(roll_up_tasks(call_footprint, tasks))
