export --to svg t.hst
