aliases
