"""One row per inference call with its energy, carbon, water and the coefficients used.

Incremental: a daily load rewrites the calls int_inference_calls__priced holds for it (the
day's calls and those of tasks its events touched); a full build writes every call."""

import narwhals as nw

from python_helpers.formula.footprint import price_calls


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        unique_key="call_id",
    )
    priced_calls = nw.from_native(dbt.ref("int_inference_calls__priced"))
    return nw.to_native(price_calls(priced_calls, carried=["load_batch_date"]))
