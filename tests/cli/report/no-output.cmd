report t.hst
