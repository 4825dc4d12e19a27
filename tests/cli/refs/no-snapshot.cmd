refs --snapshot exit t.hst
