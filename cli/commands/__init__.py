"""One module per kubectl command (or family); each has ``register(app)``. See ``cli/main.py``."""
