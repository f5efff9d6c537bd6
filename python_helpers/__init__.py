"""task-watts Python helpers: sample workload generation and utilities for the dbt project."""
