aliases --limit 1e3 t.hst
