"""``wirecopy eval``: score a clustering against labelled data, and show its worst errors."""

from __future__ import annotations

import os
from typing import Any

import click
import orjson

from .._config import LEVELS, ClusterConfig
from .._errors import InputError
from ._common import handle_errors

__all__ = ["eval_cmd"]


def _run(target, gold, docs, level, max_days, workers, top, as_json, raw, write) -> None:
    from ..io.readers import read_documents
    from ..evaluation import reuters
    from ..evaluation.evaluate import evaluate_dataset, evaluate_predictions, render

    config = ClusterConfig(level=level, max_days=None if max_days < 0 else max_days, workers=workers)
    if (raw or write) and not (gold is None and target == reuters.SET_NAME):
        raise InputError(f"--raw and --write go with the named set {reuters.SET_NAME}", source=target)
    if gold is None and target == reuters.SET_NAME:
        ev = reuters.evaluate_reuters(raw or reuters.default_raw_dir(), config, top=top, write=write)
    elif gold is None:
        if not os.path.isdir(target):
            raise InputError("give a data set folder (docs.jsonl + gold.jsonl or pairs.csv), or --gold with a clustering file", source=target)
        ev = evaluate_dataset(target, config, top=top)
    else:
        texts = read_documents([docs], max_text_bytes=config.max_text_bytes) if docs else None
        ev = evaluate_predictions(gold, target, docs=texts, config=config, top=top)
    if as_json:
        click.echo(orjson.dumps(ev.as_dict()).decode())
    else:
        click.echo(render(ev))


@click.command("eval")
@click.argument("target", metavar="DATASET_DIR|reuters21578-pairs|PREDICTIONS")
@click.option("--gold", type=click.Path(dir_okay=False), default=None, help="Gold labels: gold.jsonl (a labelled clustering) or pairs.csv (labelled pairs). The argument is then a clustering result file (PREDICTIONS).")
@click.option("--docs", type=click.Path(dir_okay=False), default=None, help="With --gold: the documents (JSONL), to explain each error by the stage that decided it.")
@click.option("--level", type=click.Choice(LEVELS), default="story", show_default=True, help="Level used to cluster (DATASET_DIR) or to explain the errors (--docs).")
@click.option("--max-days", type=float, default=14.0, show_default=True, help="Never link articles dated further apart than this (negative: no limit).")
@click.option("--workers", type=int, default=0, show_default=True, help="Fingerprinting processes (0: one per core).")
@click.option("--top", type=click.IntRange(0), default=10, show_default=True, help="Worst errors listed of each kind.")
@click.option("--json", "as_json", is_flag=True, help="Print one machine-readable JSON object.")
@click.option("--raw", type=click.Path(file_okay=False), default=None,
              help="With reuters21578-pairs: the Reuters-21578 SGML folder (default $WIRECOPY_DATA/raw/reuters21578, else ../shared/data/raw/reuters21578).")
@click.option("--write", type=click.Path(file_okay=False), default=None,
              help="With reuters21578-pairs: also write the set there as docs.jsonl + pairs.csv (for eval DIR or --gold).")
def eval_cmd(**kwargs: Any) -> None:
    """Score a clustering: pairwise precision, recall, F1, ARI, and the worst errors with the stage that decided.

    wirecopy eval DATASET_DIR clusters DATASET_DIR/docs.jsonl and scores it against the gold.jsonl or
    pairs.csv beside it; wirecopy eval --gold gold.jsonl|pairs.csv PREDICTIONS scores a clustering file.
    wirecopy eval reuters21578-pairs builds the Reuters-21578 corpus from its SGML files (--raw) and
    scores the hand-judged pairs shipped with wirecopy.
    """
    handle_errors(_run)(**{k: kwargs[k] for k in ("target", "gold", "docs", "level", "max_days", "workers", "top", "as_json", "raw", "write")})
