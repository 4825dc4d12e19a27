leaks --heuristics stdstrin t.hst
