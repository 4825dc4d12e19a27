export --format json --to pprof t.hst
