"""How the test and example images are built locally (see build.py)."""
