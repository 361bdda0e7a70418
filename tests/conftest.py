"""Shared fixtures: the seed story, generated outlet pages, and the optional shared data sets."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

HERE = Path(__file__).parent
REPO = HERE.parent
SEEDS = HERE / "fixtures" / "seeds"
SHARED_DATA = REPO.parent / "shared" / "data"
EXAMPLE = REPO / "examples" / "news.jsonl"


@pytest.fixture(scope="session")
def seed_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))}


@pytest.fixture(scope="session")
def example_docs() -> list[dict]:
    return [json.loads(line) for line in EXAMPLE.read_text(encoding="utf-8").splitlines()]


_WORDS = (
    "council minister harbour railway budget festival river court museum election farmers bank factory "
    "vaccine storm bridge school airline league orchestra mayor protest tariff drought satellite fishing "
    "hospital union village tourism copper pipeline coastline parliament lottery chemist painter glacier "
    "volcano refinery cathedral startup submarine orchard tunnel customs senator archive stadium"
).split()
_VERBS = "said announced rejected approved delayed expanded reviewed questioned opened closed funded blocked".split()


def random_body(rng: random.Random, sentences: int = 8) -> str:
    """A news-like body of unrelated sentences: shares no passage with another random body."""
    paras = []
    for _ in range(sentences // 2):
        sent = []
        for _ in range(2):
            words = rng.sample(_WORDS, 14)
            sent.append(
                f"The {words[0]} {rng.choice(_VERBS)} on {rng.choice(['Monday', 'Tuesday', 'Friday'])} that the "
                + " ".join(words[1:8])
                + f" would {rng.choice(_VERBS)} "
                + " ".join(words[8:])
                + f" by {rng.randint(2, 99)} percent."
            )
        paras.append(" ".join(sent))
    return "\n\n".join(paras)


OUTLET_CHROME_TOP = (
    "We use cookies to improve your experience on our website. By continuing to browse, you agree to our use of cookies. "
    "Learn more | Accept\n\nThe Daily Lantern Home News World Politics Business Tech Science Health Sports Opinion Subscribe Sign In\n\n"
)
OUTLET_CHROME_BOTTOM = (
    "\n\nSign up for our Morning Briefing newsletter to get the day's top stories delivered to your inbox every morning.\n"
    "The Daily Lantern is an independent newspaper owned by Lantern Media Group. All rights reserved by the publisher and its licensors.\n"
    "Most read\n1. Council approves new harbour plan\n2. Storm closes coastal roads\n3. Museum reopens after repairs\n"
)


def outlet_page(title: str, body: str) -> str:
    return f"{OUTLET_CHROME_TOP}{title}\n\nBy Lantern Staff\nPublished: June 4, 2023 10:00\n\n{body}{OUTLET_CHROME_BOTTOM}"


@pytest.fixture
def shared_data() -> Path:
    if not (SHARED_DATA / "synth-dev" / "docs.jsonl").exists():
        pytest.skip("../shared/data is not present")
    return SHARED_DATA


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium (scripts/install-browser.sh), for the pages' browser tests."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("no chromium on this machine (scripts/install-browser.sh installs Debian's)")
