"""``jetkube describe``: kubectl-like sections per kind, then the object's events. Pure text."""
