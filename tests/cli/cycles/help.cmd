cycles --help
