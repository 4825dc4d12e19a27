cycles --members -1 t.hst
