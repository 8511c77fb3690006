"""Persistent storage: the volume binder, claim/volume protection and the local-path provisioner."""
