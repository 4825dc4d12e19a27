diff a.hst A B C
