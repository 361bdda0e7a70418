"""The Spark engine: the same stories as the local engine, on Apache Spark.

Every stage runs distributed and calls the core functions inside Spark tasks; nothing here
re-implements the algorithm, and no stage collects pairs to the driver:

1. **fingerprint** — ``mapInArrow`` over input partitions: ``to_document`` (the local engine's
   validation and messages), ``parse_date``, ``credited_agency`` and ``fingerprint_texts`` on each
   Arrow batch, over a DataFrame's rows or over files the executors read (:mod:`.spark_files`). Bad
   records and reused ids are then found in one job (:func:`_checked`). Texts are dropped afterwards;
   only ids, metadata and anchors (an ``array<bigint>``: the uint64 hashes, bit for bit) are kept.
2. **index** — anchors are exploded to postings and their document frequency ``df`` (documents, for
   the candidate rules) and ``tdf`` (distinct texts, by document signature, for the weights) counted
   by a shuffle on the anchor hash; each document gets back its ``tdf`` per anchor, from which
   :func:`~wirecopy.core.candidates.anchor_weights` makes the weights wherever they are needed.
3. **candidates** — a join of the postings with themselves on the anchor hash, with the local rules:
   groups of ``df ≤ pair_df`` propose every pair, groups of ``pair_df < df ≤ max_df`` propose each
   document with the ``representatives`` smallest ids (the local ordinal is the rank of the id in
   sorted order, and Spark compares strings in the same code-point order), larger groups nothing;
   a pair proposed by fewer than ``min_shared`` anchors is dropped.
4. **verify** — each candidate pair is joined with both documents' anchors and scored in
   ``mapInArrow`` by :func:`~wirecopy.core.verify.score_pairs` and the one verdict, :func:`~wirecopy.core.decide.accept`.
5. **components** — large-star / small-star (Kiveris et al., "Connected Components in MapReduce and
   Beyond", SoCC 2014) over the accepted edges, O(log² n) rounds of joins; a component is labelled by
   its smallest id.
6. **stories** — one ``applyInArrow`` call per component runs the core's story formation,
   :func:`~wirecopy.core.stories.form_stories`, on its members and their links (story formation
   never merges across components, so this is what it does over the whole corpus locally), then
   :func:`~wirecopy.core.cluster.choose_canonicals` and :func:`~wirecopy.core.cluster.relations_to_canonical`;
   single documents are mapped in batches. Source/agency codes (whose order breaks
   ties in :func:`~wirecopy.core.cluster.origin_of`) are numbered as the local engine numbers them.

The output has the columns of :meth:`wirecopy.Assignment.as_dict`, one row per input row, in input
order. Floating-point sums run in the same order as in the local engine (per document, anchors in
hash order), so the scores — and therefore the stories — are identical, not merely close.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .._config import ClusterConfig, FieldMap
from .._document import Assignment, Document
from .._errors import ConfigError, DuplicateIdError, InputError, MissingDependencyError
from ..core.candidates import anchor_weights
from ..core.cluster import choose_canonicals, relations_to_canonical, story_id
from ..core.fingerprint import fingerprint_texts, signatures
from ..io.readers import SkipReport, parse_date, to_document
from ..core.newsmeta import credited_agency
from ..core.pipeline import ClusterResult, summarise_stories
from ..core.stories import form_stories
from ..core.decide import accept
from ..core.verify import score_pairs

if TYPE_CHECKING:  # pragma: no cover
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine", "cluster_dataframe", "cluster_fingerprinted", "connected_components", "spark_session"]

_SOURCE = "dataframe"  # where errors say a bad record came from
_FIELDS = FieldMap()
_INPUT = ("id", "text", "title", "date", "source")
_FINGERPRINTED = (
    "pos long, id string, title string, date string, source string, days double, "
    "source_key string, credit_key string, hashes array<bigint>, sig long, src string, rec string, line long, error string, fatal boolean"
)
_ASSIGNED = "id string, story string, relation string, canonical string, score double, title string, date string, source string, pos long"
_ASSIGNED_ARROW = pa.schema(
    [("id", pa.string()), ("story", pa.string()), ("relation", pa.string()), ("canonical", pa.string()), ("score", pa.float64()),
     ("title", pa.string()), ("date", pa.string()), ("source", pa.string()), ("pos", pa.int64())]
)


def _pyspark() -> Any:
    try:
        import pandas  # noqa: F401  (pyspark's Arrow UDFs need it)
        import pyspark.sql
    except ImportError as exc:
        raise MissingDependencyError(
            "the Spark engine needs pyspark and pandas: pip install 'wirecopy[spark]' (and a Java 17+ runtime)"
        ) from exc
    return pyspark.sql


_LOCAL_DEFAULTS = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.driver.memory": "4g",  # local mode runs the executors in the driver's JVM (default 1g)
}


def _configured(conf: dict[str, str] | None) -> dict[str, str]:
    """Spark settings made outside this call: the JVM that ``spark-submit`` started (its ``--master``,
    ``--conf`` and ``spark-defaults.conf``), else ``PYSPARK_SUBMIT_ARGS``, ``MASTER`` and
    ``spark-defaults.conf`` as a plain ``python`` would pass them on; ``conf`` wins over all."""
    import shlex

    from pyspark import SparkConf, SparkContext

    settings: dict[str, str] = {}
    if "PYSPARK_GATEWAY_PORT" in os.environ or SparkContext._jvm is not None:  # spark-submit (or a JVM already up)
        SparkContext._ensure_initialized()  # connects to spark-submit's JVM: SparkConf() reads its settings only then
        settings.update(dict(SparkConf().getAll()))
    else:
        home = os.environ.get("SPARK_CONF_DIR") or os.path.join(os.environ.get("SPARK_HOME", ""), "conf")
        try:
            with open(os.path.join(home, "spark-defaults.conf"), encoding="utf-8") as fh:
                for line in fh:
                    parts = line.strip().split(None, 1)
                    if len(parts) == 2 and not parts[0].startswith("#"):
                        settings[parts[0]] = parts[1].strip()
        except OSError:
            pass
        if os.environ.get("MASTER"):
            settings["spark.master"] = os.environ["MASTER"]
        args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
        flags = {"--master": "spark.master", "--name": "spark.app.name", "--driver-memory": "spark.driver.memory",
                 "--executor-memory": "spark.executor.memory"}
        for flag, value in zip(args, args[1:]):
            if flag in flags:
                settings[flags[flag]] = value
            elif flag == "--conf" and "=" in value:
                key, _, val = value.partition("=")
                settings[key] = val
    settings.update(conf or {})
    return settings


def spark_session(master: str | None = None, *, app_name: str = "wirecopy", conf: dict[str, str] | None = None) -> SparkSession:
    """The active SparkSession, else one on the master that is configured, else on ``local[*]``.

    A master given here wins; otherwise the one ``spark-submit`` was given (``--master``,
    ``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``, ``MASTER``), and only when nothing names one,
    ``local[*]``. No setting made elsewhere is overridden: ``conf`` is added to the session's, and on
    a local master a few defaults that suit one machine (UI off, 8 shuffle partitions, 4 GiB for the
    driver's JVM, this interpreter for the Python workers) fill in only what is not set.
    """
    sql = _pyspark()
    active = sql.SparkSession.getActiveSession()
    if active is not None and (master is None or master == active.sparkContext.master):
        for key, value in (conf or {}).items():
            try:
                active.conf.set(key, value)  # runtime (SQL) settings; the others are fixed once a session runs
            except Exception as exc:  # pyspark raises its AnalysisException for a setting fixed at start
                raise ConfigError(f"Spark setting {key} cannot be changed in the running session; give it to spark-submit (--conf) instead") from exc
        return active
    settings = _configured(conf)
    master = master or settings.get("spark.master") or "local[*]"
    builder = sql.SparkSession.builder.master(master)
    if "spark.app.name" not in settings:
        builder = builder.appName(app_name)
    if master.startswith("local"):
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        for key, value in _LOCAL_DEFAULTS.items():
            if key not in settings:
                builder = builder.config(key, value)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _name_key(value: str | None) -> str | None:
    """Sources and agencies compare case- and space-insensitively (as ``Corpus.name_codes``)."""
    return " ".join(value.split()).lower() if value and value.strip() else None


def _list_array(offsets: np.ndarray, values: np.ndarray) -> pa.ListArray:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), pa.array(values))


def _flat(lists: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Values and lengths of a list column (null lists are empty)."""
    lengths = pc.fill_null(pc.list_value_length(lists), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    values = lists.flatten().to_numpy(zero_copy_only=False)
    return values, lengths


def _weighted(hash_lists: list[pa.Array], df_lists: list[pa.Array], common_df: int):
    """Concatenated anchors of the documents of several list columns, with weights and mass exactly
    as :func:`wirecopy.core.candidates.build_index` computes them (same float32 weights, same
    float64 accumulation in hash order)."""
    hashes, lengths, dfs = [], [], []
    for h, d in zip(hash_lists, df_lists):
        hv, hl = _flat(h)
        dv, _ = _flat(d)
        hashes.append(hv.astype(np.int64))
        lengths.append(hl)
        dfs.append(dv.astype(np.int64))
    length = np.concatenate(lengths)
    offsets = np.zeros(length.shape[0] + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    weights = anchor_weights(np.concatenate(dfs), common_df)
    doc_of = np.repeat(np.arange(length.shape[0], dtype=np.int64), length)
    mass = np.bincount(doc_of, weights=weights, minlength=length.shape[0]).astype(np.float64)
    return np.concatenate(hashes).view(np.uint64), offsets, weights, mass


# --- stage 1: fingerprint -------------------------------------------------------------------------

#: one input record as a fingerprint task sees it: (position, source name, locator, record), the
#: record a dict, a raw JSONL line (bytes) or the InputError that reading it already gave
Record = tuple  # (int, str, int | str, Any)


def _frame_records(batch: pa.RecordBatch) -> Iterator[Record]:
    """Records of a DataFrame handed to :func:`cluster_dataframe` (columns ``_INPUT`` and ``pos``)."""
    cols = batch.to_pydict()
    for i, pos in enumerate(cols["pos"]):
        record = {k: cols[k][i] for k in _INPUT}
        yield pos, _SOURCE, record["id"] if record["id"] not in (None, "") else f"row {pos}", record


def _fingerprint_batches(
    batches: Iterator[pa.RecordBatch], config: ClusterConfig, records: Callable[[pa.RecordBatch], Iterable[Record]] = _frame_records,
    fields: FieldMap = _FIELDS, fatal: type[InputError] | None = None,
) -> Iterator[pa.RecordBatch]:
    """Validate and fingerprint records exactly as the local engine's workers do (same messages)."""
    names = [c.split()[0] for c in _FINGERPRINTED.split(", ")]
    strings = {"id", "title", "date", "source", "source_key", "credit_key", "src", "rec", "error"}
    for batch in batches:
        out: dict[str, list] = {k: [] for k in names if k != "hashes"}
        texts, good = [], []
        for i, (pos, name, locator, record) in enumerate(records(batch)):
            try:
                doc = to_document(record, fields, name, locator, config.max_text_bytes)
                day = parse_date(doc.date, source=name, record=locator)
                err = None
            except InputError as exc:
                doc, day, err = None, None, exc
                name, locator = exc.source or name, exc.record
            rid = record.get(fields.id) if isinstance(record, dict) else None
            out["pos"].append(pos)
            out["id"].append(doc.id if doc else (None if rid is None else str(rid)))
            out["title"].append(doc.title if doc else None)
            out["date"].append(doc.date if doc else None)
            out["source"].append(doc.source if doc else None)
            out["days"].append(np.nan if day is None else day)
            out["source_key"].append(_name_key(doc.source) if doc else None)
            out["credit_key"].append(_name_key(credited_agency(doc.text)) if doc else None)
            out["src"].append(name)
            out["rec"].append(None if isinstance(locator, int) or locator is None else str(locator))
            out["line"].append(locator if isinstance(locator, int) else None)
            out["error"].append(None if err is None else err.reason)
            out["fatal"].append(fatal is not None and isinstance(err, fatal))
            if doc is not None:
                texts.append(doc.text)
                good.append(i)
        fp = fingerprint_texts(texts, config.shingle, config.sample, config.prose_min_tokens)
        lengths = np.zeros(len(out["pos"]), dtype=np.int64)
        lengths[good] = np.diff(fp.offsets)
        offsets = np.zeros(lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        types = {"pos": pa.int64(), "line": pa.int64(), "days": pa.float64(), "fatal": pa.bool_()}
        arrays = {k: pa.array(v, type=types.get(k, pa.string())) for k, v in out.items()}
        arrays["hashes"] = _list_array(offsets, fp.hashes.view(np.int64))
        arrays["sig"] = pa.array(signatures(fp.hashes, offsets).view(np.int64))  # the text's identity: df counts distinct texts
        yield pa.RecordBatch.from_arrays([arrays[n] for n in names], names=names)


def _input_frame(df: DataFrame, fields: FieldMap) -> DataFrame:
    F = _pyspark().functions
    present = set(df.columns)
    for required in (fields.id, fields.text):
        if required not in present:
            raise InputError(f"the DataFrame has no column {required!r} (columns: {', '.join(df.columns)})", source=_SOURCE)
    cols = [(F.col(getattr(fields, name)) if getattr(fields, name) in present else F.lit(None)).cast("string").alias(name) for name in _INPUT]
    return df.select(*cols, F.monotonically_increasing_id().alias("pos"))


def _where(src: str | None, rec: str | None, line: int | None) -> int | str | None:
    return line if line is not None else rec


def _problem(row: Any) -> InputError:
    """The error of a bad record or a reused id, worded as the local engine words it."""
    if row["first_pos"] is None:
        return InputError(row["error"], source=row["src"], record=_where(row["src"], row["rec"], row["line"]))
    first = _where(row["first_src"], row["first_rec"], row["first_line"])
    at = "by an earlier row" if row["first_src"] == _SOURCE else f"at {row['first_src']}:{first}"
    return DuplicateIdError(f"duplicate id {row['id']!r}, already used {at}", source=row["src"], record=_where(row["src"], row["rec"], row["line"]))


def _checked(fingerprinted: DataFrame, on_error: str, skipped: SkipReport | None) -> DataFrame:
    """Bad records and reused ids: the first, in input order, raises an error naming the record
    (a file that cannot be read at all always does); with ``on_error="skip"`` they are left out and
    reported in input order. The later records of a reused id are the ones left out. One job."""
    F = _pyspark().functions
    located = ("pos", "id", "src", "rec", "line")
    good = fingerprinted.where(F.col("error").isNull())
    firsts = good.groupBy("id").agg(F.count("*").alias("n"), F.min_by(F.struct(*located), F.col("pos")).alias("first")).where("n > 1")
    first = [F.col(f"first.{c}").alias(f"first_{c}") for c in ("pos", "src", "rec", "line")]
    dups = good.select(*located).join(firsts, "id").where(F.col("pos") != F.col("first.pos")).select(
        *located, F.lit(None).cast("string").alias("error"), F.lit(False).alias("fatal"), *first
    )
    none = [F.lit(None).cast(t).alias(f"first_{c}") for c, t in (("pos", "long"), ("src", "string"), ("rec", "string"), ("line", "long"))]
    bad = fingerprinted.where(F.col("error").isNotNull()).select(*located, "error", "fatal", *none)
    problems = bad.unionByName(dups)
    if on_error == "raise":
        head = problems.orderBy("pos").limit(1).collect()
        if head:
            raise _problem(head[0])
    else:
        fatal = problems.where("fatal").orderBy("pos").limit(1).collect()
        if fatal:
            raise _problem(fatal[0])
        if skipped is not None:
            for row in problems.orderBy("pos").toLocalIterator():
                skipped.add(_problem(row), row["id"])
    return good.join(dups.select("pos"), "pos", "left_anti")


# --- stages 2-4: index, candidates, verify --------------------------------------------------------


def _score_batches(batches: Iterator[pa.RecordBatch], config: ClusterConfig) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        m = batch.num_rows
        hashes, offsets, weights, mass = _weighted(
            [batch.column("ha"), batch.column("hb")], [batch.column("fa"), batch.column("fb")], config.common_df
        )
        pairs = np.stack((np.arange(m, dtype=np.int64), np.arange(m, 2 * m, dtype=np.int64)), axis=1)
        scores = score_pairs(hashes, offsets, weights, mass, pairs)
        days_a = batch.column("da").to_numpy(zero_copy_only=False).astype(np.float64)
        days_b = batch.column("db").to_numpy(zero_copy_only=False).astype(np.float64)
        ok = pa.array(accept(scores, days_a, days_b, config))
        yield pa.RecordBatch.from_arrays([batch.column("a").filter(ok), batch.column("b").filter(ok)], names=["a", "b"])


def _candidates(postings: DataFrame, config: ClusterConfig) -> DataFrame:
    """Pairs (a, b), a < b, proposed by at least ``min_shared`` anchors (rules of ``core.candidates``)."""
    sql = _pyspark()
    F, Window = sql.functions, sql.Window
    live = postings.where((F.col("df") >= 2) & (F.col("df") <= config.max_df))
    ranked = live.withColumn("rank", F.row_number().over(Window.partitionBy("h").orderBy("id")) - 1).select("h", "id", "df", "rank")
    few = ranked.where(F.col("df") <= config.pair_df)
    many = ranked.where(F.col("df") > config.pair_df)
    reps = many.where(F.col("rank") < config.representatives)

    def pairs(x: DataFrame, y: DataFrame) -> DataFrame:
        x, y = x.alias("x"), y.alias("y")
        joined = x.join(y, (F.col("x.h") == F.col("y.h")) & (F.col("y.rank") < F.col("x.rank")))
        return joined.select(F.col("y.id").alias("a"), F.col("x.id").alias("b"))

    proposed = pairs(few, few).unionAll(pairs(many, reps))
    return proposed.groupBy("a", "b").agg(F.count("*").alias("n")).where(F.col("n") >= config.min_shared).select("a", "b")


# --- stage 5: connected components ----------------------------------------------------------------


def connected_components(edges: DataFrame, *, max_rounds: int = 64) -> DataFrame:
    """``(id, root)`` for every node of the undirected graph ``edges(a, b)``: root = smallest id of its
    component. Large-star / small-star rounds until the edges form one star per component."""
    F = _pyspark().functions
    e = edges.select(F.col("a").alias("src"), F.col("b").alias("dst")).where(F.col("src") != F.col("dst")).distinct()
    for _ in range(max_rounds):
        # large star: every node links its larger neighbours to the smallest node of its neighbourhood
        both = e.select(F.col("src").alias("u"), F.col("dst").alias("v")).union(e.select(F.col("dst").alias("u"), F.col("src").alias("v")))
        low = both.groupBy("u").agg(F.least(F.min("v"), F.col("u")).alias("m"))
        e = both.join(low, "u").where(F.col("v") > F.col("u")).select(F.col("v").alias("src"), F.col("m").alias("dst")).distinct()
        # small star: every node links itself and its smaller neighbours to the smallest of them
        oriented = e.select(F.greatest("src", "dst").alias("u"), F.least("src", "dst").alias("v"))
        low = oriented.groupBy("u").agg(F.min("v").alias("m"))
        e = (
            oriented.join(low, "u").select(F.col("v").alias("src"), F.col("m").alias("dst"))
            .where(F.col("src") != F.col("dst"))
            .union(low.select(F.col("u").alias("src"), F.col("m").alias("dst")))
            .distinct()
            .localCheckpoint()
        )
        forked = e.groupBy("src").agg(F.count("*").alias("n")).where("n > 1").select(F.col("src").alias("x"))
        chained = e.select(F.col("dst").alias("x")).join(e.select(F.col("src").alias("x")), "x", "left_semi")
        if not forked.union(chained).limit(1).count():  # each node points at most at one root: one star per component
            return e.select(F.col("src").alias("id"), F.col("dst").alias("root")).union(
                e.select(F.col("dst").alias("id"), F.col("dst").alias("root")).distinct()
            )
    raise RuntimeError(f"connected components did not converge in {max_rounds} rounds")  # pragma: no cover


# --- stage 6: stories -----------------------------------------------------------------------------


def _assigned(rows: list[tuple[Assignment, int]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([{**a.as_dict(), "pos": pos} for a, pos in rows], schema=_ASSIGNED_ARROW)


def _stories_of(table: pa.Table, config: ClusterConfig) -> pa.Table:
    """The stories of one connected component of the links (its members in ``table``, each with the
    ids it links to): :func:`~wirecopy.core.stories.form_stories` forms them, as it does over the
    whole corpus locally (it never merges across components), then each story's canonical and
    relations."""
    table = table.take(pc.sort_indices(table, [("id", "ascending")]))
    ids = table.column("id").to_pylist()
    ordinal = {x: i for i, x in enumerate(ids)}
    hashes, offsets, weights, mass = _weighted([table.column("hashes").combine_chunks()], [table.column("dfs").combine_chunks()], config.common_df)
    days = table.column("days").to_numpy().astype(np.float64)
    sources = table.column("source_code").to_numpy().astype(np.int64)
    credits = table.column("credit_code").to_numpy().astype(np.int64)
    pairs = np.array(
        [(ordinal[a], ordinal[b]) for a, bs in zip(ids, table.column("links").to_pylist()) for b in (bs or ())], dtype=np.int64
    ).reshape(-1, 2)
    pairs.sort(axis=1)
    sc = score_pairs(hashes, offsets, weights, mass, pairs)
    labels = form_stories(len(ids), pairs, sc.containment, sc.jaccard, hashes, offsets, weights, mass, days, config)
    canonical = choose_canonicals(labels, days, sources, credits, mass)
    relation, score = relations_to_canonical(hashes, offsets, weights, mass, canonical, sources, credits, config)
    titles, dates, srcs, pos = (table.column(c).to_pylist() for c in ("title", "date", "source", "pos"))
    rows = [
        (Assignment(ids[i], story_id(ids[int(labels[i])]), relation[i], ids[int(canonical[i])], float(score[i]), titles[i], dates[i], srcs[i]), pos[i])
        for i in range(len(ids))
    ]
    return pa.Table.from_batches([_assigned(rows)])


def _singletons(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        cols = batch.to_pydict()
        yield _assigned(
            [
                (Assignment(i, story_id(i), "original", i, 1.0, t, d, s), p)
                for i, t, d, s, p in zip(cols["id"], cols["title"], cols["date"], cols["source"], cols["pos"])
            ]
        )


def _name_codes(docs: DataFrame) -> DataFrame:
    """``(name, code)`` numbered as ``Corpus.name_codes`` numbers them: sources by the id of their
    first document, then agencies credited only, by the id of their first document. The table of
    names (outlets and agencies) is small, so one partition ranks it."""
    sql = _pyspark()
    F, Window = sql.functions, sql.Window
    by_source = docs.where(F.col("source_key").isNotNull()).groupBy(F.col("source_key").alias("name")).agg(F.min("id").alias("first_s"))
    by_credit = docs.where(F.col("credit_key").isNotNull()).groupBy(F.col("credit_key").alias("name")).agg(F.min("id").alias("first_c"))
    names = by_source.join(by_credit, "name", "full_outer")
    order = Window.orderBy(F.col("first_s").isNull(), F.col("first_s"), F.col("first_c"))
    return names.select("name", (F.row_number().over(order) - 1).alias("code"))


def cluster_dataframe(
    df: DataFrame,
    config: ClusterConfig | None = None,
    *,
    fields: FieldMap | None = None,
    on_error: str = "raise",
    skipped: SkipReport | None = None,
    stats: dict | None = None,
) -> DataFrame:
    """Group the articles of a Spark DataFrame into stories; returns one row per input row, in input order.

    ``df`` has columns ``id`` and ``text`` and optionally ``title``, ``date``, ``source`` (other names
    via ``fields``); the result has the columns of :meth:`wirecopy.Assignment.as_dict`. Bad rows and
    duplicate ids raise :class:`InputError` naming the record, or with ``on_error="skip"`` are left
    out and added to ``skipped``. ``stats``, when given, receives counts (documents, linked pairs).
    """
    config = config or ClusterConfig()
    inputs = _input_frame(df, fields or FieldMap())
    return cluster_fingerprinted(inputs.mapInArrow(lambda it: _fingerprint_batches(it, config), _FINGERPRINTED), config, on_error, skipped, stats)


def cluster_fingerprinted(
    fingerprinted: DataFrame, config: ClusterConfig, on_error: str = "raise", skipped: SkipReport | None = None, stats: dict | None = None
) -> DataFrame:
    """Stages 2-6 over the output of the fingerprint stage (schema ``_FINGERPRINTED``, one row per
    input record, ``pos`` its place in input order); the result is :func:`cluster_dataframe`'s."""
    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    sql = _pyspark()
    F = sql.functions
    from pyspark import StorageLevel

    fingerprinted = fingerprinted.persist(StorageLevel.MEMORY_AND_DISK)
    docs = _checked(fingerprinted, on_error, skipped).drop("src", "rec", "line", "error", "fatal")

    postings = docs.select("id", "sig", F.posexplode("hashes").alias("k", "h"))
    # df: documents per anchor (the candidate rules); tdf: distinct texts per anchor (the weights)
    postings = postings.join(postings.groupBy("h").agg(F.count("*").alias("df"), F.countDistinct("sig").alias("tdf")), "h")
    dfs = postings.groupBy("id").agg(F.sort_array(F.collect_list(F.struct("k", "tdf"))).alias("kd")).select("id", F.col("kd.tdf").alias("dfs"))
    indexed = docs.join(dfs, "id", "left").persist(StorageLevel.MEMORY_AND_DISK)

    def side(s: str) -> DataFrame:  # one document's anchors, joined by a shuffle: the index is never broadcast whole
        return indexed.select(F.col("id").alias(s), F.col("hashes").alias(f"h{s}"), F.col("dfs").alias(f"f{s}"), F.col("days").alias(f"d{s}")).hint("merge")

    scored = _candidates(postings, config).join(side("a"), "a").join(side("b"), "b")
    edges = scored.mapInArrow(lambda it: _score_batches(it, config), "a string, b string").localCheckpoint()
    roots = connected_components(edges)
    links = edges.groupBy("a").agg(F.collect_list("b").alias("links")).withColumnRenamed("a", "id")

    codes = _name_codes(indexed)
    members = (
        indexed.join(roots, "id")
        .join(links, "id", "left")
        .join(codes.select(F.col("name").alias("source_key"), F.col("code").alias("source_code")), "source_key", "left")
        .join(codes.select(F.col("name").alias("credit_key"), F.col("code").alias("credit_code")), "credit_key", "left")
        .select("id", "root", "links", "hashes", "dfs", "days", F.coalesce("source_code", F.lit(-1)).alias("source_code"),
                F.coalesce("credit_code", F.lit(-1)).alias("credit_code"), "title", "date", "source", "pos")
    )
    grouped = members.groupBy("root").applyInArrow(lambda t: _stories_of(t, config), _ASSIGNED)
    single = indexed.join(roots, "id", "left_anti").select("id", "title", "date", "source", "pos").mapInArrow(_singletons, _ASSIGNED)
    if stats is not None:
        stats["documents"] = docs.count()
        stats["linked_pairs"] = edges.count()
    return grouped.unionByName(single).orderBy("pos").drop("pos")


class SparkEngine:
    """Cluster documents on Apache Spark (``master``: a Spark master URL; default local mode)."""

    name = "spark"

    def __init__(self, config: ClusterConfig | None = None, *, master: str | None = None, spark: SparkSession | None = None):
        self.config = config or ClusterConfig()
        self.master = master
        self._spark = spark

    def run(
        self,
        documents: Iterable[Document],
        *,
        progress: Callable[[int], None] | None = None,
        skipped: SkipReport | None = None,
        on_error: str = "raise",
    ) -> ClusterResult:
        """Send validated documents to Spark, cluster them there and bring the assignments back."""
        skipped = skipped if skipped is not None else SkipReport()
        spark = self._spark or spark_session(self.master)
        table = _document_table(documents, self.config.batch_size, progress)
        stats: dict = {}
        out = cluster_dataframe(spark.createDataFrame(table), self.config, on_error=on_error, skipped=skipped, stats=stats).toArrow()
        result = _result_of(out)
        result.skipped = skipped
        result.stats.update(stats)
        return result


def _document_table(documents: Iterable[Document], batch_size: int, progress: Callable[[int], None] | None) -> pa.Table:
    schema = pa.schema([(name, pa.string()) for name in _INPUT])
    batches, rows, n = [], [], 0
    for doc in documents:
        rows.append((doc.id, doc.text, doc.title, doc.date, doc.source))
        if len(rows) >= batch_size:
            batches.append(pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in zip(*rows)], schema=schema))
            n += len(rows)
            rows = []
            if progress is not None:
                progress(n)
    if rows:
        batches.append(pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in zip(*rows)], schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def _result_of(table: pa.Table) -> ClusterResult:
    """A :class:`ClusterResult` (assignments in input order, stories) from the rows Spark returned."""
    cols = table.to_pydict()
    assignments = [
        Assignment(i, s, r, c, sc, t, d, so)
        for i, s, r, c, sc, t, d, so in zip(*(cols[k] for k in ("id", "story", "relation", "canonical", "score", "title", "date", "source")))
    ]
    order = sorted(range(len(assignments)), key=lambda i: assignments[i].id)
    ordinal = {assignments[i].id: o for o, i in enumerate(order)}
    ids = [assignments[i].id for i in order]
    root: dict[str, int] = {}
    for o, i in enumerate(order):
        root.setdefault(assignments[i].story, o)  # ordinals ascend: the first member seen is the smallest
    labels = np.array([root[assignments[i].story] for i in order], dtype=np.int64)
    canonical = np.array([ordinal[assignments[i].canonical] for i in order], dtype=np.int64)
    days = np.array([np.nan if (d := parse_date(assignments[i].date)) is None else d for i in order], dtype=np.float64)
    stories = summarise_stories(
        labels, canonical, ids, [assignments[i].title for i in order], [assignments[i].date for i in order], days,
        [assignments[i].source for i in order],
    )
    stats = {
        "documents": len(assignments),
        "stories": len(stories),
        "multi_document_stories": sum(1 for s in stories if s.size > 1),
        "largest_story": max((s.size for s in stories), default=0),
    }
    return ClusterResult(assignments=assignments, stories=stories, stats=stats)
