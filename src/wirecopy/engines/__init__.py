"""Engines run the core pipeline on some machinery: ``local`` (this machine, all cores)."""
