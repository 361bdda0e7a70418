"""Where data comes from and goes to, besides the readers of :mod:`wirecopy.io.readers`.

* :mod:`.tables` — Arrow tables and streams, pandas and polars DataFrames, ``datasets.Dataset`` in;
  assignments and stories as Arrow tables out;
* :mod:`.files` — local paths and filesystem URLs (``s3://``, ``gs://``, ``hf://``, ``https://``),
  plain or compressed (``.gz``, ``.zst``, ``.bz2``, ``.xz``), streamed;
* :mod:`.datatrove` — a datatrove pipeline step (the ``datatrove`` extra).

Nothing here imports pandas, polars, datasets, fsspec or datatrove until it is used.
"""
