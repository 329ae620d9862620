"""What lies under OUTPUT, as the stages read and write it: layout (every path), parquet_files
(Parquet files in and out), index (the index engine: buckets of sorted files, looked up at the
cost of a run's own keys), history (the article ids written already) and manifest (a run's
list of finished files)."""
