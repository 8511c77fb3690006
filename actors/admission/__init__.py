"""admission actor."""
