"""Evidence for people: why two texts match, how a story's versions follow each other, and a page.

* :mod:`.explain` — ``wirecopy explain A B``: relation, scores, aligned shared passages, differences;
* :mod:`.anatomy` — ``wirecopy stories``: every story's members in version order with their changes;
* :mod:`.newsmarks` — editor's notes, datelines and printed dates;
* :mod:`.io` — the versioned evidence file; :mod:`.html` — ``wirecopy report``, a static HTML page.
"""

from __future__ import annotations

from .anatomy import Evidence, MemberAnatomy, StoryAnatomy, build_evidence
from .explain import Explanation, Passage, Piece, explain

__all__ = ["Evidence", "Explanation", "MemberAnatomy", "Passage", "Piece", "StoryAnatomy", "build_evidence", "explain"]
