gate
