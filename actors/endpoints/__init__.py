"""endpoints actor."""
