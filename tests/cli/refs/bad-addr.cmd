refs --addr nowhere t.hst
