referrers --addr 0xzz t.hst
