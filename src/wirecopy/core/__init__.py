"""The pipeline, one module per stage: ingest → normalise → fingerprint → candidates → verify → cluster → report.

``pipeline.py`` strings the stages together; the engines, the CLI and the service are thin shells around it.
"""
