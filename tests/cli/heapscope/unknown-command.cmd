nosuch
