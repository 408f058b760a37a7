"""ML code hazards found by reading the syntax tree of Python files and notebooks (never importing them)."""
