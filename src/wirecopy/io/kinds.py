"""What kind of table a value is, without importing any table library (pyarrow included)."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["table_kind"]


def table_kind(data: Any) -> str | None:
    """``arrow``, ``arrow-stream``, ``pandas``, ``polars``, ``datasets`` or ``None`` (not a table).

    A value of a library's type can only exist once that library is imported, so the check looks in
    ``sys.modules`` and imports nothing. Any other object with ``__arrow_c_stream__`` (the Arrow
    PyCapsule stream protocol) is an ``arrow-stream``.
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        if isinstance(data, (pa.Table, pa.RecordBatch)):
            return "arrow"
        if isinstance(data, pa.RecordBatchReader):
            return "arrow-stream"
    cls = type(data)
    top = cls.__module__.partition(".")[0]
    if top == "pandas" and cls.__name__ == "DataFrame":
        return "pandas"
    if top == "polars" and cls.__name__ in ("DataFrame", "LazyFrame"):
        return "polars"
    if top == "datasets" and cls.__name__ == "Dataset":
        return "datasets"
    if hasattr(data, "__arrow_c_stream__") and not isinstance(data, (str, bytes)):
        return "arrow-stream"
    return None
