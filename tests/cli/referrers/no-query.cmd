referrers t.hst
