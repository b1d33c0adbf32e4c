"""The scheduler: academy directory, classes and their Meet spaces, and the ticker."""
