"""gc actor."""
