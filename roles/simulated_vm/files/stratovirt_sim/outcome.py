# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a simulated command does: its reply, its events, and whether the VM dies."""

from __future__ import annotations

import time
from typing import Any, List, NamedTuple, Optional


class Outcome(NamedTuple):
    value: Any = None  # the ``return`` member, when no error
    error: Optional[str] = None  # the ``desc`` of a GenericError
    error_class: str = 'GenericError'
    events: List[dict] = []
    panic: Optional[str] = None  # the VM process dies with this message instead of answering
    shutdown: bool = False  # the VM exits after the reply and its events
    hang: bool = False  # the VM's main thread deadlocks: no reply, and the monitor never answers again


def ok(value: Any = None, events: Optional[List[dict]] = None) -> Outcome:
    return Outcome(value={} if value is None else value, events=events or [])


def fail(desc: str, events: Optional[List[dict]] = None, error_class: str = 'GenericError') -> Outcome:
    return Outcome(error=desc, error_class=error_class, events=events or [])


def event(name: str, data: dict) -> dict:
    """An event as StratoVirt writes it: name, data, then a wall-clock timestamp."""
    now = time.time()
    seconds = int(now)
    return {'event': name, 'data': data, 'timestamp': {'seconds': seconds, 'microseconds': int((now - seconds) * 1e6)}}
