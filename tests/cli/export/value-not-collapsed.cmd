export --to json --value live t.hst
