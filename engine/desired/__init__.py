"""Desired state: what the config says every listing should look like (pure rendering)."""
