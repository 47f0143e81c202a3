"""The Dagster code location and the edges to the outside world (files, database, workbooks)."""
