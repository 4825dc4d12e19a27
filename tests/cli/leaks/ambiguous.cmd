leaks --h t.hst
