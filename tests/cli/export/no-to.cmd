export t.hst
