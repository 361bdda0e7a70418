"""Helpers to try wirecopy offline: a fixture feed server on loopback (``python -m wirecopy.testing.feeds``)."""
