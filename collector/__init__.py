"""The otel-feedback collector: OTLP receivers, durable Parquet storage with a DuckDB catalog,
the REST API, the web UI and the review app. Start it with ``otel-feedback serve``."""
