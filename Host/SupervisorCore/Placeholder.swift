// Replaced by the target's first real source file.
