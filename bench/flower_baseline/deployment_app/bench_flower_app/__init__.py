"""ServerApp and ClientApp of the benchmark task on Flower's deployment engine."""
