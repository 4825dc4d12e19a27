leaks t.hst --snapshot
