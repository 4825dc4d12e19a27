summary a.hst b.hst
