"""The market series as generations, like the notes' builds (``server.live.generations``).

Layout under ``<state>/market/``::

    generations/<revision>/   par-yield.csv  target-range.csv   (never modified once published)
    generations/.build-*      a generation being written (swept by the next lock holder)
    current -> generations/<revision>   replaced by one os.replace: the atomic switch
    sources/<name>.json       validators (ETag, Last-Modified) of the last accepted document
    sources/<name>.body       that document's bytes (a 304 reuses them)
    status.json               per source: last check, outcome, error, last good date
    lock                      flock: one process fetches at a time

The revision is ``tools.yield_curve.series.revision_of`` of the two CSV texts: the same data
gives the same revision on every machine and in every worker. The first generation is the
snapshot shipped with the package, so the revision of a service that has fetched nothing new is
the snapshot's.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from server.files import point_link, write_atomic
from tools.yield_curve.series import MarketSeries, revision_of, series_from_texts

PAR_YIELD_NAME = "par-yield.csv"
TARGET_RANGE_NAME = "target-range.csv"
KEEP_GENERATIONS = 4
"""Published generations kept besides the current one (workers still reading them)."""


class MarketStore:
    """The market generations of one state directory (see the module docstring)."""

    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "market"
        self.generations = self.root / "generations"
        self.current_link = self.root / "current"
        self.sources = self.root / "sources"
        self.status_path = self.root / "status.json"
        self.lock_path = self.root / "lock"

    def current(self) -> tuple[str, Path] | None:
        """The published generation's revision and directory (one ``readlink``)."""
        try:
            target = os.readlink(self.current_link)
        except OSError:
            return None
        path = (self.root / target).resolve()
        return path.name, path

    def current_revision(self) -> str | None:
        got = self.current()
        return got[0] if got else None

    @staticmethod
    def load(path: Path, note: str = "") -> MarketSeries:
        par = (path / PAR_YIELD_NAME).read_text(encoding="utf-8")
        target = (path / TARGET_RANGE_NAME).read_text(encoding="utf-8")
        return series_from_texts(par, target, "followed", note)

    def publish(self, par_text: str, target_text: str) -> str:
        """Write a generation and make it current (hold the lock); its revision."""
        revision = revision_of(par_text, target_text)
        final = self.generations / revision
        if not final.is_dir():
            self.generations.mkdir(parents=True, exist_ok=True)
            build = self.generations / f".build-{os.getpid()}-{time.monotonic_ns()}"
            build.mkdir()
            write_atomic(build / PAR_YIELD_NAME, par_text)
            write_atomic(build / TARGET_RANGE_NAME, target_text)
            os.rename(build, final)
        point_link(self.current_link, Path("generations") / revision)
        return revision

    def sweep(self) -> None:
        """Drop unfinished builds and all but the newest published generations (hold the lock)."""
        if not self.generations.is_dir():
            return
        current = self.current_revision()
        published = []
        for child in self.generations.iterdir():
            if child.name.startswith(".build-"):
                shutil.rmtree(child, ignore_errors=True)
            elif child.is_dir() and child.name != current:
                published.append(child)
        published.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for old in published[KEEP_GENERATIONS:]:
            shutil.rmtree(old, ignore_errors=True)

    # ---- the last accepted document of each source

    def validators(self, name: str) -> dict[str, str]:
        try:
            data = json.loads((self.sources / f"{name}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or not (self.sources / f"{name}.body").is_file():
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def body(self, name: str) -> bytes | None:
        try:
            return (self.sources / f"{name}.body").read_bytes()
        except OSError:
            return None

    def keep(self, name: str, body: bytes, validators: dict[str, str]) -> None:
        """Keep an accepted document: its bytes first, then its validators (a crash between
        leaves validators of the older body absent, never pointing at the wrong bytes)."""
        with contextlib.suppress(FileNotFoundError):
            (self.sources / f"{name}.json").unlink()
        write_atomic(self.sources / f"{name}.body", body)
        write_atomic(self.sources / f"{name}.json", json.dumps(validators, sort_keys=True))

    # ---- status

    def read_status(self) -> dict[str, Any]:
        try:
            data = json.loads(self.status_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_status(self, status: dict[str, Any]) -> None:
        write_atomic(self.status_path, json.dumps(status, indent=2, sort_keys=True) + "\n")
