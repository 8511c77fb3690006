"""The example images' recipes (build.py, src/) and ``jetkube images build`` (command.py)."""
