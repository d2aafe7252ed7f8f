"""Siaga call service: ARI client, IVR engine, forwarding, recording."""
