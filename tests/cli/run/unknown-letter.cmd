run -x ls
