"""What every stage shares and no stage owns: records (the record types and article ids),
schemas (the datasets' Parquet schemas), failures (errors routing and the unexpected-failure
limit), metrics (every counter's name), settings (config errors, range checks, backend
choice), text (paragraphs, sentence ends, words), language (detection and primary codes),
names (entity name keys and ids), deadline (calls that cannot outlive their deadline),
bad_input (the expected rejections, free of Beam) and beam_memo (answers Beam computes again
and again while it builds a graph, remembered)."""
