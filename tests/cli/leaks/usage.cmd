leaks
