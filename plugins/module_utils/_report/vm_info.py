# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``stratovirt_info`` reports of one VM, built from the same state the device modules use.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .._device.kinds.registry import all_kinds, kind_named, view_of
from .._dialect.dialect import MACHINE_MICRO, MICRO_BACKENDS
from .._device.state import VMState


def free_places(state: VMState) -> dict:
    """Micro VM: free slots of each kind and backend room; standard VM: free root ports."""
    if state.dialect.machine == MACHINE_MICRO:
        free: Dict[str, Any] = {}
        for kind in all_kinds():
            used = state.slots_in_use(kind.name)
            free[kind.free_key] = ['0x%x' % slot for slot in range(kind.micro_slots) if slot not in used]
        free['backends'] = max(0, MICRO_BACKENDS - state.backends_in_use() - len(state.unfinished_plugs))
        return free
    taken = {device.bus for device in state.devices.values() if device.bus is not None}
    return {'root_ports': [port for port in state.root_ports if port not in taken]}


def mismatches(state: VMState, argv: List[str]) -> List[str]:
    """Where the record and the host view of the VM process disagree, and what neither explains."""
    found = list(state.repairs)
    for kind in all_kinds():
        found.extend(kind.unexplained(state, argv))
    for device_id, entry in state.unfinished_plugs.items():
        found.append('%s %s: a plug was interrupted; the next %s task for it finishes or undoes it' % (entry.kind, device_id, kind_named(entry.kind).module))
    return found


def report(state: VMState, argv: List[str], status: dict, resources: dict) -> dict:
    devices = [view_of(device) for device in state.devices.values()]
    for kind in all_kinds():
        devices.extend(kind.retained_views(state))
    return {
        'status': status,
        'devices': devices,
        'free': free_places(state),
        'resources': resources,
        'mismatches': mismatches(state, argv),
        'record': {'path': state.record.path, 'discarded': state.record.discarded},
    }
