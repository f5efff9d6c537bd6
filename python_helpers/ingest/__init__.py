"""Converters from real-world telemetry exports to the task-watts input contract."""
