gate --max-leaked-bytes 1k t.hst
