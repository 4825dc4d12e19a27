aliases --help
