"""newsbeam: the program (options, config and stage settings, graph builder, command line)."""
