"""Hollow nodes: many simulated kubelets in one process, without Docker (kubemark/KWOK style)."""
