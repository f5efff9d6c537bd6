"""Per feature: the model mix minimising expected gCO2e per completed task under its floors.

Reads the per feature x model x quarter evidence (tens of rows) and the feature catalogue, and
runs python_helpers.formula.routing. `floor_applies_to` and `min_tasks` come from the model's config
(vars routing_floor_applies_to and routing_min_tasks).
"""

import narwhals as nw

from python_helpers.formula.frontier import rows_frame
from python_helpers.formula.routing import ROUTING_COLUMNS, routing_rows


def model(dbt, session):
    dbt.config(materialized="table")
    observations = nw.from_native(dbt.ref("mart_feature_model_quarter")).collect(backend="pyarrow")
    catalogue = nw.from_native(dbt.ref("feature_catalogue")).collect(backend="pyarrow")
    rows = routing_rows(
        observations.rows(named=True),
        catalogue.rows(named=True),
        floor_applies_to=dbt.config.get("floor_applies_to"),
        min_tasks=int(dbt.config.get("min_tasks")),
    )
    return rows_frame(rows, ROUTING_COLUMNS, session)
