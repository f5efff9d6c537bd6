"""One row per inference call with its energy, carbon, water and the coefficients used."""

import narwhals as nw

from python_helpers.formula.footprint import price_calls


def model(dbt, session):
    dbt.config(materialized="table")
    priced_calls = nw.from_native(dbt.ref("int_inference_calls__priced"))
    return nw.to_native(price_calls(priced_calls))
