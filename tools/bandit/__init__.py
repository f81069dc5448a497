"""Persistent bandit experiments (the ``ai/bandit`` note): UCB1 across many calls and clients.

An agent that runs a bandit over many calls keeps its state on the server instead of in its
context. ``specs`` holds the four tools (``TOOLS``), ``models`` their JSON models, ``store``
the ``BanditStore`` interface with the embedded SQLite store, ``postgres`` the PostgreSQL one.
The store is configuration: the server builds it (``server.toolset.stores``) and passes it in
each call's ``ToolContext``.

Bounds: names and arm labels match ``^[A-Za-z0-9_.-]{1,64}$``; at most 1,000 arms per
experiment and 10,000 experiments per store; ``request_id`` is 1–128 printable ASCII
characters; |reward| ≤ 10^12; 0 ≤ c ≤ 100; a ``history`` given to ``bandit_create`` has at most
1,000 records.
"""

from __future__ import annotations

from tools.bandit.specs import DEMO, DEMO_HISTORY, TOOLS
from tools.bandit.store import (
    MAX_EXPERIMENTS,
    BanditStore,
    Experiment,
    Record,
    SQLiteBanditStore,
)
from tools.ucb import choose_arm, update_mean

__all__ = (
    "DEMO",
    "DEMO_HISTORY",
    "MAX_EXPERIMENTS",
    "TOOLS",
    "BanditStore",
    "Experiment",
    "Record",
    "SQLiteBanditStore",
    "choose_arm",
    "update_mean",
)
