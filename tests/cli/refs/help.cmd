refs --help
