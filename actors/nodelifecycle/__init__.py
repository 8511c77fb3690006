"""nodelifecycle actor."""
