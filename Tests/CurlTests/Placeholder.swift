// Replaced by the target's first real test file.
