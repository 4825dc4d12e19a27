run -o
