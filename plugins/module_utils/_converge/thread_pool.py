# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A few VMs at a time: the bounded thread pool that both stratovirt_vms and stratovirt_vms_info run their VMs on.

Private to the stratovirt.qmp collection: may change in any release.
A module of its own so that the read-only report takes it without importing the converge engine.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, List, Sequence, TypeVar

from .._device.errors import DeviceInputError

DEFAULT_WORKERS = 4
MAX_WORKERS = 64
Item = TypeVar('Item')


def check_workers(workers: int) -> None:
    """:raises DeviceInputError: not a usable number of worker threads."""
    if not 1 <= workers <= MAX_WORKERS:
        raise DeviceInputError('workers is %r: it must be from 1 to %d' % (workers, MAX_WORKERS))


def run_bounded(work: Callable[[Item], Any], items: Sequence[Item], workers: int) -> List[Any]:
    """``[work(item) for item in items]``, on at most ``workers`` threads; results in the order of ``items``.

    ``work`` must not raise (each caller turns its failures into a result).
    """
    if workers <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix='stratovirt-qmp') as pool:
        return list(pool.map(work, items))
