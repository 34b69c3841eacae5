# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's other resources, read-only: vCPUs, memory and the balloon, iothreads, and every cold-plugged device.

Private to the stratovirt.qmp collection: may change in any release.

Each comes from the source that tells the truth on every release and machine type (the resource recordings):
``query-cpus`` lists the present vCPUs on both; the possible ones are listed by ``query-hotpluggable-cpus`` on a micro
VM only (q35 answers ``{}``), so a standard VM's come from ``-smp maxcpus``. The memory size is the command line's
``-m``; ``query-balloon`` answers the balloon's current size, or ``DeviceNotActive`` without a balloon device.
``query-iothreads`` lists the command line's iothreads. No query lists a device: the cold-plugged ones are read from
the command line, of every driver.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .._dialect import cmdline
from .._dialect.dialect import MACHINE_MICRO, Dialect
from .._qmp.errors import QMPCommandError

NO_BALLOON = 'no balloon device'
BALLOON_DRIVERS = ('virtio-balloon-device', 'virtio-balloon-pci')


def read_resources(client, dialect: Dialect, argv: List[str]) -> Dict[str, Any]:
    """Sends ``query-cpus``, ``query-hotpluggable-cpus`` (micro VMs), ``query-balloon`` and ``query-iothreads``.

    :raises QMPError: a query failed otherwise than as recorded.
    """
    booted, possible = cmdline.vcpus(argv)
    present = client.execute('query-cpus')
    if dialect.machine == MACHINE_MICRO:
        listed = client.execute('query-hotpluggable-cpus')
        possible = len(listed) if isinstance(listed, list) else possible
    cold = cmdline.devices(argv)
    return {
        'vcpus': {
            'present': len(present) if isinstance(present, list) else booted,
            'possible': possible,
            'hotplug': dialect.vcpu_hotplug_refusal or 'supported',
        },
        'memory': dict(size=cmdline.memory_size(argv), **balloon_state(client, dialect, cold)),
        'iothreads': [entry.get('id') for entry in client.execute('query-iothreads') or [] if isinstance(entry, dict)],
        'cold_plugged': cold,
    }


def balloon_state(client, dialect: Dialect, cold: List[Dict[str, str]]) -> Dict[str, Any]:
    """``balloon``: the balloon device's id (``''`` without one) and ``balloon_actual``: its current size (None without)."""
    balloon = next((device for device in cold if device['driver'] in BALLOON_DRIVERS), None)
    try:
        reply = client.execute('query-balloon')
    except QMPCommandError as exc:
        if not dialect.is_balloon_inactive(exc):
            raise
        return {'balloon': NO_BALLOON, 'balloon_actual': None}
    actual = reply.get('actual') if isinstance(reply, dict) else None
    return {'balloon': (balloon or {}).get('id') or (balloon or {}).get('driver') or 'balloon', 'balloon_actual': actual}
