"""newsbeam: the program (options, config, graph builder, command line, schemas)."""
