report -o r.html --heuristics nope t.hst
