cycles
