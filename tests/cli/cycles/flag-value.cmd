cycles --lost=yes t.hst
