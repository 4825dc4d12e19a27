run --bogus ls
