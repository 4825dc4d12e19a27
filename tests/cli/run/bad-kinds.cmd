run --kinds lost -- ls
