diff --by size t.hst
