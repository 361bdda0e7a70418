"""docs/python.md runs: its examples are a doctest, executed from the repository root."""

from __future__ import annotations

import doctest
import os

import pytest

from conftest import REPO


def test_python_docs_examples_run():
    """Every >>> example of docs/python.md prints what the page says it prints."""
    for name in ("pandas", "polars", "datasets", "datatrove"):
        pytest.importorskip(name)
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        failed, attempted = doctest.testfile(
            str(REPO / "docs" / "python.md"), module_relative=False, optionflags=doctest.ELLIPSIS, raise_on_error=False, verbose=False
        )
    finally:
        os.chdir(cwd)
    assert attempted > 30
    assert failed == 0, f"{failed} of {attempted} examples of docs/python.md failed (output above)"
