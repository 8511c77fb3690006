"""namespace actor."""
