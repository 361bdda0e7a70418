"""Tables in, tables out: Arrow, pandas, polars and datasets through cluster() and dedup()."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecopy
from wirecopy import ClusterConfig, FieldMap, InputError

CONFIG = ClusterConfig(workers=1)


def _as_rows(example_docs):
    rows = [dict(d, rank=i, tags=[f"t{i}"]) for i, d in enumerate(example_docs)]  # extra columns, one a list
    return rows


def _make(kind: str, rows: list[dict]):
    if kind == "arrow":
        return pa.Table.from_pylist(rows)
    if kind == "arrow-batches":
        t = pa.Table.from_pylist(rows)
        return pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=3))
    if kind == "pandas":
        pd = pytest.importorskip("pandas")
        return pd.DataFrame(rows)
    if kind in ("polars", "polars-lazy"):
        pl = pytest.importorskip("polars")
        return pl.DataFrame(rows) if kind == "polars" else pl.LazyFrame(rows)
    if kind == "datasets":
        datasets = pytest.importorskip("datasets")
        return datasets.Dataset.from_list(rows)
    raise AssertionError(kind)


KINDS = ["arrow", "arrow-batches", "pandas", "polars", "polars-lazy", "datasets"]


def _ids(table) -> list[str]:
    kind = type(table).__module__.partition(".")[0]
    if kind == "pyarrow":
        return table.column("id").to_pylist()
    if kind == "pandas":
        return table["id"].tolist()
    if kind == "polars":
        return table["id"].to_list()
    return table["id"]  # datasets


@pytest.mark.parametrize("kind", KINDS)
def test_table_input_clusters_like_mappings(kind, example_docs):
    """Every table type gives exactly the assignments and stories of the same records as mappings."""
    rows = _as_rows(example_docs)
    expected = wirecopy.cluster(rows, CONFIG)
    got = wirecopy.cluster(_make(kind, rows), CONFIG)
    assert [a.as_dict() for a in got.assignments] == [a.as_dict() for a in expected.assignments]
    assert [s.as_dict() for s in got.stories] == [s.as_dict() for s in expected.stories]
    assert got.stats == expected.stats


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("level", ["copy", "story"])
def test_dedup_returns_input_type_with_canonical_rows(kind, level, example_docs):
    """dedup() keeps every column and only the canonical rows, in input order, in the input's own type."""
    rows = _as_rows(example_docs)
    config = CONFIG.with_(level=level)
    data = _make(kind, rows)
    kept = wirecopy.dedup(data, config)
    result = wirecopy.cluster(rows, config)
    canonical = [a.id for a in result.assignments if a.id == a.canonical]
    assert _ids(kept) == canonical
    assert canonical == [r["id"] for r in wirecopy.dedup(rows, config)]
    if kind == "arrow-batches":
        assert isinstance(kept, pa.Table)
        assert kept.column_names == list(rows[0])
    elif kind == "polars-lazy":
        assert type(kept).__name__ == "DataFrame" and kept.columns == list(rows[0])
    else:
        assert type(kept) is type(data)
        cols = kept.column_names if hasattr(kept, "column_names") else list(kept.columns)
        assert cols == list(rows[0])
    full = {r["id"]: r for r in rows}
    if kind in ("arrow", "arrow-batches"):
        assert kept.to_pylist() == [full[i] for i in canonical]


def test_levels_keep_more_rows_when_narrower(example_docs):
    """A narrower level forms smaller groups, so dedup keeps at least as many rows."""
    table = pa.Table.from_pylist(example_docs)
    counts = [wirecopy.dedup(table, CONFIG.with_(level=lv)).num_rows for lv in ("copy", "version", "story")]
    assert counts[0] >= counts[1] >= counts[2] >= 1
    assert counts[0] > counts[2]


def test_field_map_names_columns(example_docs):
    """Column names are mapped by FieldMap, as for files."""
    rows = [{"doc": d["id"], "body": d["text"], "published": d.get("date"), "outlet": d.get("source")} for d in example_docs]
    fields = FieldMap(id="doc", text="body", date="published", source="outlet")
    got = wirecopy.cluster(pa.Table.from_pylist(rows), CONFIG, fields=fields)
    expected = wirecopy.cluster(rows, CONFIG, fields=fields)
    assert [a.as_dict() for a in got.assignments] == [a.as_dict() for a in expected.assignments]


def test_typed_date_and_integer_id_columns(example_docs):
    """Arrow dates and timestamps and integer ids are read as their record equivalents are."""
    rows = [{"id": i, "text": d["text"], "date": dt.date(2023, 6, 4 + i % 3)} for i, d in enumerate(example_docs)]
    stamp_rows = [dict(r, date=dt.datetime(2023, 6, 4 + r["id"] % 3, 12, 30)) for r in rows]
    for rs in (rows, stamp_rows):
        got = wirecopy.cluster(pa.Table.from_pylist(rs), CONFIG)
        expected = wirecopy.cluster(rs, CONFIG)
        assert [a.as_dict() for a in got.assignments] == [a.as_dict() for a in expected.assignments]


BAD_ROWS = [
    {"id": None, "text": "x"},
    {"id": "", "text": "some text here"},
    {"id": "t1", "text": None},
    {"id": "t2", "text": ""},
    {"id": "t3", "text": " \n\t\u00a0\u2003\x1c"},
    {"id": "t4", "text": "fine text", "date": "last tuesday"},
    {"id": "t5", "text": None, "too_long": True},
]


@pytest.mark.parametrize("bad", range(len(BAD_ROWS)))
def test_bad_rows_get_the_record_errors(bad, example_docs):
    """A bad row raises the error a bad record raises (same reason), with its 1-based row number."""
    rows = [{"id": d["id"], "text": d["text"], "date": d.get("date"), "title": d.get("title")} for d in example_docs]
    limit = max(len(r["text"].encode()) for r in rows)
    row = {"date": None, "title": None, **BAD_ROWS[bad]}
    if row.pop("too_long", False):
        row["text"] = "x" * (limit + 1)
    rows.insert(3, row)
    config = CONFIG.with_(max_text_bytes=limit)
    with pytest.raises(InputError) as from_records:
        wirecopy.cluster(rows, config)
    table = pa.Table.from_pylist(rows)
    with pytest.raises(InputError) as from_table:
        wirecopy.cluster(table, config)
    assert from_table.value.reason == from_records.value.reason
    assert (from_table.value.source, from_table.value.record) == ("<table>", 4)
    skipped = wirecopy.cluster(table, config, on_error="skip")
    assert [(s.record, s.reason) for s in skipped.skipped] == [(4, from_records.value.reason)]
    assert len(skipped) == len(example_docs)


def test_wrong_column_types_and_duplicates(example_docs):
    """A text column that is not text, and a reused id, are reported per row as for records."""
    rows = [{"id": d["id"], "text": d["text"]} for d in example_docs]
    with pytest.raises(InputError, match=r"text must be a string, got int") as err:
        wirecopy.cluster(pa.table({"id": ["a", "b"], "text": [1, 2]}), CONFIG)
    assert err.value.record == 1
    with pytest.raises(InputError, match=r"field 'title' must be a string, got bool"):
        wirecopy.cluster(pa.table({"id": ["a", "b"], "text": ["some text", "more text"], "title": [None, True]}), CONFIG)
    dup = pa.Table.from_pylist(rows + [rows[2]])
    with pytest.raises(wirecopy.DuplicateIdError, match=r"already used at <table>:3") as err:
        wirecopy.cluster(dup, CONFIG)
    assert err.value.record == len(rows) + 1
    result = wirecopy.cluster(dup, CONFIG, on_error="skip")
    assert len(result) == len(rows) and [s.record for s in result.skipped] == [len(rows) + 1]
    across = pa.RecordBatchReader.from_batches(dup.schema, dup.to_batches(max_chunksize=4))  # the reuse is in a later batch
    with pytest.raises(wirecopy.DuplicateIdError, match=r"already used at <table>:3"):
        wirecopy.cluster(across, CONFIG)
    kept = wirecopy.dedup(dup, CONFIG, on_error="skip")
    assert len(set(kept.column("id").to_pylist())) == kept.num_rows  # the duplicate row is not kept twice


def test_results_as_tables(example_docs):
    """to_arrow / to_pandas / to_polars hold the rows that the files hold."""
    result = wirecopy.cluster(example_docs, CONFIG)
    table = result.to_arrow()
    assert table.schema.metadata[b"wirecopy.format"] == b"1"
    rows = table.to_pylist()
    assert [{**r, "score": round(r["score"], 4)} for r in rows] == [a.as_dict() for a in result.assignments]
    assert result.to_arrow("stories").to_pylist() == [s.as_dict() for s in result.stories]
    pd = pytest.importorskip("pandas")
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame) and frame["id"].tolist() == [a.id for a in result.assignments]
    pl = pytest.importorskip("polars")
    assert isinstance(result.to_polars("stories"), pl.DataFrame)
    with pytest.raises(ValueError, match="assignments"):
        result.to_arrow("pairs")


def test_importing_wirecopy_imports_no_table_library():
    """import wirecopy loads neither pandas, polars, datasets, fsspec nor datatrove (nor pyarrow)."""
    code = (
        "import sys, wirecopy\n"
        "bad = [m for m in ('pandas', 'polars', 'datasets', 'fsspec', 'datatrove', 'pyarrow') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_pandas_mixed_column_is_named():
    """A pandas column Arrow cannot type is reported by name with a way out."""
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"id": ["a", 1.5], "text": ["some text", "more text"]})
    with pytest.raises(InputError, match=r"column 'id' mixes values of several types"):
        wirecopy.cluster(frame, CONFIG)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_order_and_batching_gives_the_same_stories(data, example_docs):
    """The stories of a table do not depend on its row order or on how it is cut into batches."""
    order = data.draw(st.permutations(range(len(example_docs))))
    chunk = data.draw(st.integers(1, len(example_docs)))
    table = pa.Table.from_pylist([example_docs[i] for i in order])
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=chunk))
    got = {a.id: (a.story, a.relation, a.canonical) for a in wirecopy.cluster(reader, CONFIG).assignments}
    expected = {a.id: (a.story, a.relation, a.canonical) for a in wirecopy.cluster(example_docs, CONFIG).assignments}
    assert got == expected
