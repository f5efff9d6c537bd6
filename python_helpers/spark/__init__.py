"""The project on Apache Spark: a local session that runs the same dbt project (docs/spark.md)."""
