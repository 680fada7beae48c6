"""Metadata plugins: small classes behind one contract (base.py), chosen by namespace
through a registry (registry.py), run by the services in runs.py."""
