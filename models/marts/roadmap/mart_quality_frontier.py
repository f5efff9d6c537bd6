"""Feature x quarter on the carbon-vs-quality plane, against the feature's OWN observed options.

Each feature-quarter is placed only against what the same feature was observed to deliver on its
own models, regions and quarters (mart_feature_model_quarter), never against another feature; the
avoidable carbon is split into an energy effect and a grid effect. Both inputs are small
(tens of rows), so they are collected and the positions computed by python_helpers.formula.frontier.
`min_tasks` (var routing_min_tasks) is the evidence threshold shared with the routing what-if.
"""

import narwhals as nw

from python_helpers.formula.frontier import FRONTIER_COLUMNS, frontier_rows, rows_frame


def model(dbt, session):
    dbt.config(materialized="table")
    feature_quarters = nw.from_native(dbt.ref("mart_feature_quarter")).collect(backend="pyarrow")
    observations = nw.from_native(dbt.ref("mart_feature_model_quarter")).collect(backend="pyarrow")
    rows = frontier_rows(
        feature_quarters.rows(named=True),
        observations.rows(named=True),
        min_tasks=int(dbt.config.get("min_tasks")),
    )
    return rows_frame(rows, FRONTIER_COLUMNS, session)
