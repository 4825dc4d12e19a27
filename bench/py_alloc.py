# An allocation-heavy Python workload (run with PYTHONMALLOC=malloc so every
# object goes through malloc): dicts, lists and strings, built and dropped.
def build(n):
    d = {}
    for i in range(n):
        key = "key-%d" % i
        d[key] = [i, str(i) * 3, {"n": i, "s": key.upper()}]
    return d

total = 0
for round_ in range(4):
    d = build(60000)
    total += sum(len(v[1]) for v in d.values())
    words = " ".join(k for k in d if k.endswith("7")).split()
    total += len(words)
    del d, words
print(total)
