referrers --help
