refs t.hst --snapshot
