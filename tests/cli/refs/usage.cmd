refs
