# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``stratovirt_info`` reports of one VM, built from the same state the device modules use.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import List

from ._device_spec import KIND_DISK, KIND_NIC
from ._stratovirt import MACHINE_MICRO, MICRO_BACKENDS
from ._vm_process import path_identity
from ._vm_state import SLOTS, VMState


def free_places(state: VMState) -> dict:
    """Micro VM: free disk and NIC slots and backend room; standard VM: free root ports."""
    if state.dialect.machine == MACHINE_MICRO:
        free = {}
        for kind, name in ((KIND_DISK, 'disk_slots'), (KIND_NIC, 'nic_slots')):
            used = state.slots_in_use(kind)
            free[name] = ['0x%x' % slot for slot in range(SLOTS[kind]) if slot not in used]
        free['backends'] = max(0, MICRO_BACKENDS - state.backends_in_use() - len(state.leftovers))
        return free
    used = {device.bus for device in state.devices.values() if device.bus is not None}
    return {'root_ports': [port for port in state.root_ports if port not in used]}


def mismatches(state: VMState, argv: List[str]) -> List[str]:
    """Where the record and the host view of the VM process disagree, and what neither explains."""
    found = list(state.repairs)
    known_paths = {device.path for device in state.devices.values() if device.path}
    known_paths.update(entry.path for entry in state.leftovers.values() if entry.path)
    command_line = ' '.join(argv)
    for path in state.images:
        # Files named on the command line (serial log, firmware ...) are the VM's own, not devices.
        if path not in known_paths and path not in command_line:
            found.append('the VM holds %s open, but no known device uses it (plugged by hand, or by a run whose record '
                         'was lost)' % path)
    names = {}
    for path in state.images:
        names.setdefault(path_identity(path) or path, []).append(path)
    for paths in names.values():
        if len(paths) > 1:
            found.append('the VM holds one file open under several names (%s): one image is attached twice'
                         % ', '.join(paths))
    known_taps = {device.ifname for device in state.devices.values() if device.ifname}
    known_taps.update(state.held_after_unplug)
    for tap in state.taps:
        if tap not in known_taps:
            found.append('the VM holds tap %s, but no known NIC uses it' % tap)
    for device_id, entry in state.leftovers.items():
        found.append('%s %s: a plug was interrupted; the next stratovirt_%s task for it finishes or undoes it'
                     % (entry.kind, device_id, 'disk' if entry.kind == KIND_DISK else 'nic'))
    return found


def report(state: VMState, argv: List[str], status: dict) -> dict:
    devices = [device.view() for device in state.devices.values()]
    for ifname, device_id in state.held_after_unplug.items():
        devices.append({'id': device_id, 'kind': KIND_NIC, 'ifname': ifname, 'source': 'record', 'unplugged_tap_held': True})
    return {
        'status': status,
        'devices': devices,
        'free': free_places(state),
        'mismatches': mismatches(state, argv),
        'record': {'path': state.record.path, 'discarded': state.record.discarded},
    }
