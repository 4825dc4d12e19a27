gate --heuristics some t.hst
