"""Measuring quality: clustering metrics against labelled sets."""
