"""newsbeam stages, one module each: sources, parse, clean, dedupe, entities, topics, write."""
