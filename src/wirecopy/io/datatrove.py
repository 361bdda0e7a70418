"""wirecopy as a `datatrove <https://github.com/huggingface/datatrove>`_ pipeline step (the ``datatrove`` extra).

:class:`WirecopyStories` slots in between a reader and a writer::

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from wirecopy.io.datatrove import WirecopyStories

    LocalPipelineExecutor(pipeline=[
        JsonlReader("news/"),
        WirecopyStories(action="drop", config=ClusterConfig(level="version")),
        JsonlWriter("deduplicated/"),
    ], tasks=1).run()

Grouping needs every document of the corpus at once, so the step gathers the documents that flow
into it, clusters them, and then passes them on: with ``action="tag"`` all of them, each with
``story``, ``relation`` and ``canonical`` in its metadata; with ``action="drop"`` only each group's
canonical article (the group is ``config.level``'s: copies, versions or whole stories). The article's
title, date, source and url are read from the metadata keys that ``fields`` names (a JSONL reader puts
every other field of a record there). Each rank clusters the documents of its own shard: run the step
with one task (or shard so that a story's articles share a task).

A bad document (empty text, unparseable date, a reused id) stops the pipeline with an error naming
it, or with ``on_error="skip"`` is passed on untouched, untagged and never dropped, and counted in the
step's ``skipped`` statistic.
"""

from __future__ import annotations

from typing import Any

from .._config import ClusterConfig, FieldMap
from .._errors import DuplicateIdError, InputError, MissingDependencyError
from ..io.readers import validate_record
from ..engines.local import LocalEngine

try:
    from datatrove.pipeline.base import PipelineStep
except ImportError as exc:  # pragma: no cover - the extra is installed in the test environment
    raise MissingDependencyError("the datatrove step needs datatrove: pip install 'wirecopy[datatrove]'") from exc

__all__ = ["WirecopyStories", "SOURCE"]

#: the ``source`` of errors about documents of a datatrove pipeline (the record is the position, from 1)
SOURCE = "<datatrove>"
ACTIONS = ("tag", "drop")


class WirecopyStories(PipelineStep):
    """Group the documents flowing through the pipeline into stories; tag them, or drop non-canonical copies."""

    name = "📰 wirecopy stories"
    type = "🫂 - DEDUP"

    def __init__(
        self,
        config: ClusterConfig | None = None,
        *,
        action: str = "tag",
        fields: FieldMap | None = None,
        on_error: str = "raise",
    ):
        super().__init__()
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}; got {action!r}")
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        self.config = config or ClusterConfig()
        self.action = action
        self.fields = fields or FieldMap()
        self.on_error = on_error

    def _record(self, doc: Any) -> dict[str, Any]:
        f, meta = self.fields, doc.metadata
        record = {f.id: doc.id, f.text: doc.text}
        for name in (f.title, f.date, f.source, f.url):
            if name in meta:
                record[name] = meta[name]
        return record

    def run(self, data: Any, rank: int = 0, world_size: int = 1) -> Any:
        docs = list(data) if data else []
        valid, positions, seen = [], [], {}
        for i, doc in enumerate(docs):
            try:
                d = validate_record(self._record(doc), self.fields, SOURCE, i + 1, self.config.max_text_bytes)
                if d.id in seen:
                    raise DuplicateIdError(f"duplicate id {d.id!r}, already used at {SOURCE}:{seen[d.id]}", source=SOURCE, record=i + 1)
            except InputError:
                if self.on_error == "raise":
                    raise
                self.stat_update("skipped")
                continue
            seen[d.id] = i + 1
            valid.append(d)
            positions.append(i)
        with self.track_time(unit="corpus"):
            result = LocalEngine(self.config).run(iter(valid))
        self.stat_update("stories", value=result.stats["stories"], unit="corpus")
        assignment = dict(zip(positions, result.assignments))
        for i, doc in enumerate(docs):
            a = assignment.get(i)
            if a is not None:
                if self.action == "drop" and a.id != a.canonical:
                    self.stat_update("dropped")
                    continue
                doc.metadata["story"], doc.metadata["relation"], doc.metadata["canonical"] = a.story, a.relation, a.canonical
            self.stat_update("forwarded")
            yield doc
