"""The live index: incremental placement, persistence, merges, splits, windows, bad input."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
import random
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wirecopy
from wirecopy import ClusterConfig, ConfigError, Document, DuplicateIdError, FormatError
from wirecopy.evaluation.metrics import score_clustering
from wirecopy.index import SCHEMA_VERSION, StoryIndex, in_date_order

from conftest import outlet_page, random_body


def _docs(example_docs: list[dict]) -> list[Document]:
    return [Document(**{k: d.get(k) for k in ("id", "text", "title", "date", "source", "url")}) for d in example_docs]


def _partition(mapping: dict[str, str]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for doc, story in mapping.items():
        groups.setdefault(story, set()).add(doc)
    return {frozenset(g) for g in groups.values()}


def _live(index: StoryIndex) -> dict[str, str]:
    return {a.id: a.story for a in index.export()[0]}


@pytest.fixture
def index(tmp_path: Path):
    with StoryIndex(tmp_path / "live.db") as ix:
        yield ix


def test_one_by_one_matches_batch_cluster(index, example_docs):
    """Feeding the example corpus one article at a time gives the stories, canonicals and relations of `cluster`."""
    docs = _docs(example_docs)
    for d in docs:
        index.add([d])
    batch = wirecopy.cluster(docs)
    assert _partition(_live(index)) == _partition(batch.story_of())
    live = {a.id: a for a in index.export()[0]}
    for a in batch.assignments:
        assert (live[a.id].canonical, live[a.id].relation) == (a.canonical, a.relation)
        assert live[a.id].score == pytest.approx(a.score, abs=1e-6)
    assert index.check() == []


def test_story_ids_stay_stable_as_a_story_grows(index, example_docs):
    """A story keeps the id it got from its first article while later articles join it."""
    docs = {d.id: d for d in _docs(example_docs)}
    first = index.add([docs["seed-004_80e8be52ee3f98d2"]])[0]
    assert first.new_story and first.assignment.relation == "original"
    for other in ("seed-000_3fd6863b09822b2e", "seed-003_642b38ec95d91a0e"):
        placed = index.add([docs[other]])[0]
        assert placed.assignment.story == first.assignment.story and not placed.new_story


def test_a_bridging_article_merges_stories_and_the_merge_is_recorded(index):
    """An article that links two stories merges them; the absorbed id still resolves to the merged story."""
    rng = random.Random(3)
    first, second = random_body(rng, 8), random_body(rng, 8)
    a = index.add([Document("a", first + "\n\n" + random_body(rng, 2))])[0]
    b = index.add([Document("b", second + "\n\n" + random_body(rng, 2))])[0]
    assert a.assignment.story != b.assignment.story
    bridge = index.add([Document("ab", first + "\n\n" + second)])[0]
    assert bridge.merged == (b.assignment.story,)  # equal sizes: the older story absorbs the newer
    assert bridge.assignment.story == a.assignment.story
    assert set(_live(index).values()) == {a.assignment.story}
    resolved = index.story(b.assignment.story)
    assert resolved["story"] == a.assignment.story and resolved["requested"] == b.assignment.story
    assert resolved["merges"] == [{"absorbed": b.assignment.story, "by_article": "ab"}]
    assert index.counts()["merges"] == 1 and index.check() == []


def test_new_text_names_what_the_article_adds(index, seed_texts):
    """The placement says which passages of a version are new against its story."""
    base = next(iter(seed_texts.values()))
    added = "Officials later confirmed that the bridge over the northern river had reopened to heavy traffic."
    index.add([Document("v1", base, date="2023-06-04")])
    placed = index.add([Document("v2", base + "\n\n" + added, date="2023-06-04")])[0]
    assert not placed.new_story
    assert 0 < placed.new.share < 0.2
    assert any("bridge over the northern river" in p for p in placed.new.passages)


def test_same_id_same_text_is_idempotent(index, example_docs):
    """Adding an article again with the same text changes nothing and answers with its place."""
    d = _docs(example_docs)[0]
    first = index.add([d])[0]
    again = index.add([d])[0]
    assert again.status == "exists" and again.assignment == first.assignment and len(index) == 1


def test_same_id_other_text_is_refused_and_nothing_is_written(index, example_docs):
    """A batch holding an id already stored with another text fails whole: no article of it is stored."""
    docs = _docs(example_docs)
    index.add([docs[0]])
    clash = Document(docs[0].id, docs[1].text)
    with pytest.raises(DuplicateIdError, match="different text"):
        index.add([docs[2], clash])
    assert len(index) == 1 and index.article(docs[2].id) is None and index.check() == []


def test_duplicate_ids_inside_one_batch_are_refused(index, example_docs):
    """Two articles of one batch with the same id are bad input naming the id."""
    d = _docs(example_docs)[0]
    with pytest.raises(DuplicateIdError, match=repr(d.id)):
        index.add([d, d])
    assert len(index) == 0


def test_query_answers_without_storing(index, example_docs):
    """`query` tells the story an article would join and stores nothing."""
    docs = _docs(example_docs)
    index.add(docs[:4])
    before = index.export()
    answer = index.query(docs[4])
    assert answer.status == "query" and answer.assignment.story == _live(index)[docs[0].id]
    assert index.export() == before and index.article(docs[4].id) is None
    assert index.add([docs[4]])[0].assignment.story == answer.assignment.story


def test_index_survives_reopening(tmp_path, example_docs):
    """An index closed and opened again holds the same assignments and keeps growing from there."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as ix:
        ix.add(docs[:6])
        before = ix.export()
    with StoryIndex(tmp_path / "i.db") as ix:
        assert ix.export() == before
        ix.add(docs[6:])
        assert _partition(_live(ix)) == _partition(wirecopy.cluster(docs).story_of())


def test_file_format_is_versioned_sqlite_in_wal_mode(tmp_path):
    """The index is an SQLite file in WAL mode that records its format name and schema version."""
    StoryIndex(tmp_path / "i.db").close()
    con = sqlite3.connect(tmp_path / "i.db")
    meta = dict(con.execute("SELECT key, value FROM meta"))
    assert meta["format"] == "wirecopy-index" and int(meta["schema_version"]) == SCHEMA_VERSION
    assert json.loads(meta["config"])["shingle"] == 5
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_other_files_are_refused_with_a_clear_error(tmp_path):
    """A text file, another SQLite database or a newer schema is refused, naming the file."""
    (tmp_path / "notes.db").write_text("not a database at all " * 100)
    with pytest.raises(FormatError, match="notes.db"):
        StoryIndex(tmp_path / "notes.db")
    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    with pytest.raises(FormatError, match="not a wirecopy index"):
        StoryIndex(tmp_path / "other.db")
    StoryIndex(tmp_path / "new.db").close()
    con = sqlite3.connect(tmp_path / "new.db")
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    con.commit()
    con.close()
    with pytest.raises(FormatError, match="upgrade wirecopy"):
        StoryIndex(tmp_path / "new.db")


#: what takes a version 3 file back to the version 2 layout (the newsroom tables are additive)
NEWSROOM_DROP = (
    "DROP TABLE events", "DROP TABLE story_view", "DROP TABLE article_search", "DROP TABLE feed_items",
    "DROP TABLE feeds", "DROP TABLE webhooks", "DROP INDEX articles_by_source",
)


def test_a_schema_1_index_is_migrated_in_place(tmp_path, example_docs):
    """A version 1 file (global postings, stored document frequencies) opens as a one-bucket version 2
    index with the same assignments, consistent, and keeps growing as before."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as ix:
        ix.add(docs[:6])
        before = ix.export()
    con = sqlite3.connect(tmp_path / "i.db", isolation_level=None)
    for statement in (  # the version 1 layout, as version 1 wrote it
        "CREATE TABLE p1 (hash INTEGER NOT NULL, day REAL NOT NULL, article INTEGER NOT NULL, PRIMARY KEY (hash, day, article)) WITHOUT ROWID",
        "INSERT INTO p1 SELECT hash, day, article FROM postings",
        "DROP TABLE postings",
        "ALTER TABLE p1 RENAME TO postings",
        "CREATE TABLE anchor_df (hash INTEGER PRIMARY KEY, df INTEGER NOT NULL)",
        "INSERT INTO anchor_df SELECT hash, count(*) FROM postings GROUP BY hash",
        "DROP TABLE buckets",
        *NEWSROOM_DROP,  # version 4's tables
        "ALTER TABLE articles DROP COLUMN checksum",  # version 3's column
        "UPDATE meta SET value = '1' WHERE key = 'schema_version'",
    ):
        con.execute(statement)
    con.close()
    with StoryIndex(tmp_path / "i.db", window_days=7) as ix:
        assert ix.schema_versions == (1, SCHEMA_VERSION)
        assert ix.bucket_days is None  # it holds articles: it stays one bucket, a window only filters candidates
        assert ix.export() == before and ix.check() == []
        ix.add(docs[6:])
        assert _partition(_live(ix)) == _partition(wirecopy.cluster(docs).story_of())
        assert ix.check() == []
    with StoryIndex(tmp_path / "i.db") as ix:
        assert ix.schema_versions == (SCHEMA_VERSION, SCHEMA_VERSION)


def test_a_windowed_index_writes_into_time_buckets(tmp_path, example_docs):
    """An index created with a window keys its postings by buckets of that many days (kept when it is
    reopened without one), and a stream shorter than the window gets the same stories as batch."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "w.db", window_days=3650) as ix:
        assert ix.bucket_days == 3650
        for d in in_date_order(docs):
            ix.add([d])
        assert _partition(_live(ix)) == _partition(wirecopy.cluster(docs).story_of())
        assert ix.check() == []
    dated = [replace(d, date=f"2023-{1 + i % 12:02d}-01") for i, d in enumerate(docs)]
    with StoryIndex(tmp_path / "b.db", window_days=10) as ix:
        ix.add(dated)
        buckets = {r[0] for r in ix._con.execute("SELECT DISTINCT bucket FROM postings")}
        assert len(buckets) == len({d.date for d in dated}) and ix.check() == []
    with StoryIndex(tmp_path / "b.db") as ix:
        assert ix.bucket_days == 10 and ix.window_days is None


def test_a_window_limits_candidates_not_document_frequencies(tmp_path):
    """Document frequencies count the whole stream, as in batch, also with a window: a footer printed
    on every page two months ago is still boilerplate on this week's pages and links nothing."""
    rng = random.Random(11)
    footer = random_body(rng, 2)
    page = lambda i, day: Document(f"p{i:02d}", outlet_page(f"Title {i}", random_body(rng, 4) + "\n\n" + footer), date=day)  # noqa: E731
    pages = [page(i, "2023-04-01") for i in range(24)] + [page(24, "2023-06-01"), page(25, "2023-06-02")]
    for window in (7, None):
        with StoryIndex(tmp_path / f"{window}.db", ClusterConfig(max_days=None), window_days=window) as ix:
            ix.add(pages[:24])
            placed = ix.add(pages[24:])
            assert placed[0].assignment.story != placed[1].assignment.story
            assert ix.check() == []
    week = wirecopy.cluster(pages[24:], ClusterConfig(max_days=None)).story_of()
    assert week["p24"] == week["p25"]  # on their own, the two pages would look like one story


def test_matching_settings_are_fixed_at_creation(tmp_path):
    """Opening an index with different matching settings is an error; without settings it uses its own."""
    StoryIndex(tmp_path / "i.db", ClusterConfig(level="copy")).close()
    with pytest.raises(ConfigError, match="level='copy'"):
        StoryIndex(tmp_path / "i.db", ClusterConfig(level="story"))
    with StoryIndex(tmp_path / "i.db") as ix:
        assert ix.config.level == "copy"
    with pytest.raises(ConfigError, match="window_days"):
        StoryIndex(tmp_path / "j.db", window_days=-1)


def test_window_skips_older_candidates(tmp_path, seed_texts):
    """With a window, an article dated further back than the window is not looked at; without, it is."""
    text = next(iter(seed_texts.values()))
    old, new = Document("old", text, date="2023-01-01"), Document("new", text, date="2023-01-10")
    cfg = ClusterConfig(max_days=None)
    with StoryIndex(tmp_path / "w.db", cfg, window_days=5) as ix:
        ix.add([old])
        assert ix.add([new])[0].new_story
    with StoryIndex(tmp_path / "n.db", cfg) as ix:
        ix.add([old])
        assert not ix.add([new])[0].new_story


def test_links_that_no_longer_hold_are_split_off(index):
    """Pages that matched only through a passage that later turns out to be boilerplate are split apart."""
    rng = random.Random(7)
    footer = random_body(rng, 2)  # prose the outlet prints under every article
    pages = [Document(f"p{i:02d}", outlet_page(f"Title {i}", random_body(rng, 4) + "\n\n" + footer), date="2023-06-04") for i in range(40)]
    first = index.add(pages[:2])
    assert first[0].assignment.story == first[1].assignment.story  # rare so far: looks like shared story text
    for p in pages[2:]:
        index.add([p])
    live = _live(index)
    assert live["p00"] != live["p01"]
    assert _partition(live) == _partition(wirecopy.cluster(pages).story_of())
    assert index._con.execute("SELECT count(*) FROM splits").fetchone()[0] >= 1
    assert index.check() == []


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.randoms(use_true_random=False))
def test_any_arrival_order_keeps_every_article_once_and_consistent(tmp_path_factory, example_docs, rnd):
    """Whatever the arrival order and batching, every article is in exactly one story and the index is consistent."""
    docs = _docs(example_docs)
    rnd.shuffle(docs)
    with StoryIndex(tmp_path_factory.mktemp("order") / "i.db") as ix:
        i = 0
        while i < len(docs):
            step = rnd.randint(1, 4)
            ix.add(docs[i : i + step])
            i += step
        assignments, stories = ix.export()
        assert sorted(a.id for a in assignments) == sorted(d.id for d in docs)
        assert sorted(m for s in stories for m in s.members) == sorted(d.id for d in docs)
        assert ix.check() == []


@pytest.mark.data
@pytest.mark.slow
def test_date_ordered_stream_agrees_with_batch_on_synth_dev(shared_data, tmp_path):
    """On 2,000 synth-dev articles fed in date order, the index's stories agree with `cluster` (ARI >= 0.95)."""
    docs = list(wirecopy.read(str(shared_data / "synth-dev" / "docs.jsonl")))[:2000]
    stream = in_date_order(docs)
    with StoryIndex(tmp_path / "a.db") as ix:
        for i in range(0, len(stream), 50):
            ix.add(stream[i : i + 50])
        live = _live(ix)
        assert ix.check() == []
    assert score_clustering(wirecopy.cluster(docs).story_of(), live).ari >= 0.95


def test_stale_links_outside_the_window_are_still_re_verified(tmp_path):
    """Pages linked early by boilerplate are split once it is frequent, although later pages are outside their window."""
    rng = random.Random(7)
    footer = random_body(rng, 2)
    pages = [
        Document(f"p{i:02d}", outlet_page(f"Title {i}", random_body(rng, 4) + "\n\n" + footer), date=f"2023-06-{1 + i // 2:02d}")
        for i in range(40)
    ]
    with StoryIndex(tmp_path / "w.db", ClusterConfig(max_days=None), window_days=1) as ix:
        first = ix.add(pages[:2])
        assert first[0].assignment.story == first[1].assignment.story
        for p in pages[2:]:
            ix.add([p])
        live = _live(ix)
        assert live["p00"] != live["p01"]
        assert _partition(live) == _partition(wirecopy.cluster(pages, ClusterConfig(max_days=None)).story_of())
        assert ix.check() == []


def test_two_writers_on_one_file_keep_document_frequencies_in_step(tmp_path, example_docs):
    """Two index objects on one file (the CLI beside a running service) see each other's articles:
    each one's document frequencies follow the file, so both place an article as a fresh index would."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as a, StoryIndex(tmp_path / "i.db") as b:
        a.add(docs[:5])
        b.add(docs[5:-1])
        a.add(docs[-1:])
        assert a.check() == [] and b.check() == []
        assert _partition(_live(a)) == _partition(_live(b)) == _partition(wirecopy.cluster(docs).story_of())
        probe = replace(docs[0], id="probe")
        assert a.query(probe).assignment.story == b.query(probe).assignment.story


def test_document_frequencies_grow_roll_back_and_restart(tmp_path, example_docs, monkeypatch):
    """Counts survive the table's growth, a refused batch or a query leaves none behind, and a file
    that went backwards (restored from a copy) is counted again from scratch."""
    from wirecopy.index import _docfreq

    monkeypatch.setattr(_docfreq, "_MIN_SLOTS", 4)  # the table grows several times
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as ix:
        for d in docs[:6]:
            ix.add([d])
        assert ix._dfs.keys.shape[0] > 64 and ix.check() == []
        before = ix._dfs.as_arrays()
        with pytest.raises(DuplicateIdError):
            ix.add([docs[6], replace(docs[0], text=docs[0].text + " changed")])
        assert all(np.array_equal(x, y) for x, y in zip(ix._dfs.as_arrays(), before))
        ix.query(docs[7])
        assert ix.check() == []
    (tmp_path / "copy.db").write_bytes((tmp_path / "i.db").read_bytes())
    with StoryIndex(tmp_path / "i.db") as ix:
        ix.add(docs[6:])
    counts = _docfreq.DocFreq()
    for name in ("i.db", "copy.db"):  # the second file is older than what was counted: start again
        con = sqlite3.connect(tmp_path / name)
        counts.sync(con)
        con.close()
    assert counts.seen == 6
    assert all(np.array_equal(x, y) for x, y in zip(counts.as_arrays(), before))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.sets(st.integers(0, 80), max_size=30), st.booleans()), min_size=2, max_size=60))
def test_document_frequencies_match_a_plain_count(steps):
    """Whatever the additions, rollbacks and growths of the hash table (the anchor 0 included), the
    held counts are those of the committed anchors."""
    from wirecopy.index import _docfreq

    saved = _docfreq._MIN_SLOTS
    _docfreq._MIN_SLOTS = 2
    try:
        counts, truth = _docfreq.DocFreq(), Counter()
        for seq, (anchors, keep) in enumerate(steps, 1):
            # few distinct values, spread over the 64 bits; 0 stays 0
            hashes = np.unique(np.array(sorted(anchors), dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
            counts.add(hashes)
            if keep:
                counts.commit(seq)
                truth.update(hashes.tolist())
            else:
                counts.rollback()
        probe = np.array(sorted(set(truth) | {0, 1, 2**64 - 1}), dtype=np.uint64)
        assert counts.of(probe).tolist() == [truth.get(h, 0) for h in probe.tolist()]
        keys, held = counts.as_arrays()
        assert keys.tolist() == sorted(truth) and held.tolist() == [truth[h] for h in sorted(truth)]
        assert len(counts) == len(truth)
    finally:
        _docfreq._MIN_SLOTS = saved


def test_an_article_stored_during_a_count_is_counted_once(tmp_path, example_docs):
    """Counting outside a transaction reads several snapshots: an article another process commits
    between them is counted by the next count, not twice."""
    from wirecopy.index._docfreq import DocFreq

    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as writer:
        writer.add(docs[:3])
        reader = sqlite3.connect(tmp_path / "i.db", isolation_level=None)

        class Racy:  # another writer commits right after the newest seq has been read
            fired = False

            def execute(self, sql, params=()):
                rows = reader.execute(sql, params).fetchall()
                if "max(seq)" in sql and not Racy.fired:
                    Racy.fired = True
                    writer.add(docs[3:6])
                return reader.execute("SELECT ?", (rows[0][0],)) if "max(seq)" in sql else reader.execute(sql, params)

        counts, truth = DocFreq(), DocFreq()
        counts.sync(Racy())
        assert Racy.fired and counts.seen == 3
        counts.sync(reader)
        truth.sync(reader)
        assert all(np.array_equal(x, y) for x, y in zip(counts.as_arrays(), truth.as_arrays()))
        reader.close()


def test_a_schema_2_index_gets_row_checksums_when_opened(tmp_path, example_docs):
    """A version 2 file (no row checksums) is migrated on open: every existing row gets its checksum,
    the answers are unchanged, and a full check is clean."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as ix:
        ix.add(docs[:6])
        before = ix.export()
    con = sqlite3.connect(tmp_path / "i.db", isolation_level=None)
    for statement in (*NEWSROOM_DROP, "ALTER TABLE articles DROP COLUMN checksum", "UPDATE meta SET value = '2' WHERE key = 'schema_version'"):
        con.execute(statement)
    con.close()
    with StoryIndex(tmp_path / "i.db") as ix:
        assert ix.schema_versions == (2, SCHEMA_VERSION) == (2, 4)
        assert ix.export() == before and ix.check(full=True) == []
        ix.add(docs[6:])
        assert ix.check(full=True) == []
    con = sqlite3.connect(tmp_path / "i.db")
    assert con.execute("SELECT count(*) FROM articles WHERE checksum IS NULL OR length(checksum) != 16").fetchone()[0] == 0
    con.close()


def test_a_0_byte_file_is_refused_not_served_as_a_new_index(tmp_path):
    """A truncated (0-byte) index file is refused with a message naming it, and left as it is."""
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match=r"empty\.db is empty \(0 bytes\)"):
        StoryIndex(empty)
    assert empty.stat().st_size == 0


def test_check_reports_what_each_level_looks_at(tmp_path, example_docs):
    """The quick check finds broken story invariants; only the full one also finds a row whose data no
    longer matches its checksum (which every read of that row refuses)."""
    docs = _docs(example_docs)
    with StoryIndex(tmp_path / "i.db") as ix:
        ix.add(docs)
        assert ix.check(full=False) == [] and ix.check(full=True) == []
        con = sqlite3.connect(tmp_path / "i.db", isolation_level=None)
        con.execute("UPDATE articles SET url = 'https://forged.example' WHERE id = ?", (docs[3].id,))
        assert ix.check(full=False) == []
        assert [p for p in ix.check(full=True) if docs[3].id in p and "checksum" in p]
        with pytest.raises(wirecopy.IndexDamagedError, match=docs[3].id):
            ix.export()
        story = con.execute("SELECT story FROM articles WHERE id = ?", (docs[0].id,)).fetchone()[0]
        con.execute("UPDATE stories SET size = size + 1 WHERE seq = ?", (story,))
        assert any("records size" in p for p in ix.check(full=False))
        con.close()
