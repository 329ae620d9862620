"""newsbeam stages, one module each: sources (with fetch, its HTTP client), parse, clean,
dedupe, entities, resolve, topics, write; failures holds the shared errors plumbing."""
