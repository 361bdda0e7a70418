"""Watch RSS/Atom feeds and sitemaps, and add each new item's article to a live index (``_watcher``)."""

from __future__ import annotations

from ._watcher import USER_AGENT, FeedReport, FeedWatcher, WatchConfig, read_feed_list

__all__ = ["FeedReport", "FeedWatcher", "USER_AGENT", "WatchConfig", "read_feed_list"]
