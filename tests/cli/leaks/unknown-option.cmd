leaks --foo t.hst
