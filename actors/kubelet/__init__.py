"""The kubelet: runs the pods bound to one node on a Docker engine (see runtime.py for the Docker side)."""
