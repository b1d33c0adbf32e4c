"""SQL: one module per aggregate (classes with their rosters, the directory, the ticker's occurrences)."""
