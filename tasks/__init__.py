"""Benchmark task plugins, found by the engine through the ``evalr.tasks`` entry points."""
