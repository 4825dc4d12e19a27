diff --snapshot exit t.hst
