gate --kinds definitely_lost,lost t.hst
