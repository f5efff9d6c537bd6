"""Feature x quarter on the carbon-vs-quality plane: on or off the efficient frontier, by how much.

The input is already one row per feature and quarter, so it is collected (tens of rows) and the
frontier computed by python_helpers.frontier.
"""

import narwhals as nw
import pyarrow as pa

from python_helpers.frontier import FRONTIER_COLUMNS, arrow_schema, frontier_rows


def model(dbt, session):
    dbt.config(materialized="table")
    feature_quarters = nw.from_native(dbt.ref("mart_feature_quarter")).collect(backend="pyarrow")
    rows = frontier_rows(feature_quarters.rows(named=True))
    return pa.Table.from_pylist(rows, schema=arrow_schema(FRONTIER_COLUMNS))
