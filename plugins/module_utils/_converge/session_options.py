# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session options of every module (socket, timeouts, machine), checked before anything is sent.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import math
import os

from .._device.spec import check_no_control_characters
from .._collection_error import CollectionError
from .._device.errors import DeviceInputError
from .._dialect.cmdline import MACHINE_NAMES, machine_type

# Replies a peer's session waits for around its guest-acknowledged unplug: greeting, version, probe, device_del, backend.
LOCK_REPLIES = 5
MAX_SECONDS = 86400  # a day: more is a typo, and far more overflows the clock


def failure_message(exc: CollectionError, socket_path: str) -> str:
    """The ``msg`` of a failed task: what went wrong, naming the VM's socket once."""
    return exc.message if exc.names_vm else 'VM %s: %s' % (socket_path, exc.message)


def resolve_machine(option: str, argv, check_mode: bool, action: str = 'check mode sends no probe'):
    """The machine type: the VM's -machine; the task's ``machine`` must not contradict it; else the task's, else
    None (the blockdev-del probe decides, not in check mode).

    :raises DeviceInputError: ``machine`` contradicts the VM's command line, or nothing tells and no probe may be sent.
    """
    written = (machine_type(argv) or '').split(',')[0]
    named = MACHINE_NAMES.get(written)
    if option != 'auto':
        if named is not None and named != option:
            raise DeviceInputError(
                'machine=%s contradicts the VM: its command line says -machine %s, a %s VM; leave '
                'machine unset (auto) or set machine=%s' % (option, written, named, named)
            )
        return option
    if named is None and check_mode:
        raise DeviceInputError('cannot tell the machine type from the VM\'s command line, and %s: set machine=micro or machine=standard' % action)
    return named


def check_session_options(params: dict) -> None:
    """The connection options, checked before the lock file is created and before anything is sent.

    :raises DeviceInputError: naming the option at fault.
    """
    socket_path = params['socket']
    check_no_control_characters(params, ('socket',), 'VM %r' % socket_path, names_vm=True)
    if not os.path.isabs(socket_path):
        raise DeviceInputError(
            'socket %r must be an absolute path (a relative one would be read from the module\'s temporary directory, not from the playbook\'s)' % socket_path,
            names_vm=True,
        )
    check_seconds(params)


def check_seconds(params: dict) -> None:
    """``timeout`` (above 0) and ``wait_timeout`` (0 or more), those ``params`` has, are at most a day.

    :raises DeviceInputError: naming the option at fault.
    """
    for name, low, zero_ok in (('timeout', 0.0, False), ('wait_timeout', 0.0, True)):
        value = params.get(name)
        if value is None:
            continue
        if not math.isfinite(value) or value < low or (value == low and not zero_ok) or value > MAX_SECONDS:
            raise DeviceInputError(
                '%s is %r: it must be a number of seconds %s %s and at most %d' % (name, value, 'from' if zero_ok else 'above', low, MAX_SECONDS)
            )


def lock_timeout(params: dict) -> float:
    """How long to wait for the per-VM lock: a peer's session may hold it through a guest-acknowledged unplug
    (``wait_timeout``) and the replies around it, far longer than one reply (``timeout``)."""
    return (params.get('wait_timeout') or 0.0) + LOCK_REPLIES * params['timeout']
