# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's current devices, from the device record checked against the host view of the VM process.

Private to the stratovirt.qmp collection: may change in any release.
StratoVirt cannot report its devices, so see docs/device-state.md for how the
record, the process's open images and taps, and its command line are combined.
"""

from __future__ import annotations

import copy
import os
from typing import Dict, List, NamedTuple, Optional

from ._device_record import DeviceEntry, DeviceRecord, record_path_for
from ._device_spec import KIND_DISK, KIND_NIC, DeviceSpec
from ._errors import DeviceInputError
from ._stratovirt import MACHINE_MICRO, MICRO_DISK_SLOTS, MICRO_NIC_SLOTS, Dialect
from ._vm_process import (
    ProcessIdentity,
    cold_plugged_devices,
    held_taps,
    open_images,
    path_identity,
    process_identity,
    root_ports,
)

SOURCE_RECORD = 'record'
SOURCE_COLD = 'cold-plugged'
SOURCE_ADOPTED = 'adopted'
SLOTS = {KIND_DISK: MICRO_DISK_SLOTS, KIND_NIC: MICRO_NIC_SLOTS}


class CurrentDevice(NamedTuple):
    id: str
    kind: str
    slot: Optional[int]
    path: Optional[str] = None
    ifname: Optional[str] = None
    options: Dict = {}
    source: str = SOURCE_RECORD
    bus: Optional[str] = None       # standard VM: the pcie-root-port it sits on (always at addr 0x0)
    pending: bool = False           # standard VM: device_del sent, the guest has not let it go yet

    def view(self) -> dict:
        """The device as ``before``/``after``/``device`` show it."""
        addr = '0x0' if self.bus is not None else None if self.slot is None else '0x%x' % self.slot
        shown = {'id': self.id, 'kind': self.kind, 'addr': addr, 'source': self.source}
        if self.bus is not None:
            shown['bus'] = self.bus
        if self.pending:
            shown['unplug_pending'] = True
        if self.kind == KIND_DISK:
            shown['path'] = self.path
        else:
            shown['ifname'] = self.ifname
        shown.update(self.options)
        return shown


def _real(path: Optional[str]) -> Optional[str]:
    return os.path.realpath(path) if path else path


class VMState:
    """What is plugged into one VM now. Build it with :func:`gather`."""

    def __init__(self, dialect: Dialect, identity: ProcessIdentity, record: DeviceRecord) -> None:
        self.dialect = dialect
        self.identity = identity
        self.record = record
        self.devices: Dict[str, CurrentDevice] = {}
        self.images: List[str] = []
        self.image_ids: Dict[tuple, str] = {}          # file identity of each image the VM holds -> its path
        self.taps: List[str] = []
        self.held_after_unplug: Dict[str, str] = {}   # tap -> id of a 2.5.0 NIC unplugged with its tap kept
        self.cold_ids: List[str] = []
        self.leftovers: Dict[str, DeviceEntry] = {}   # plugs an earlier run began and never finished
        self.root_ports: List[str] = []
        self.repairs: List[str] = []

    def projection(self) -> 'VMState':
        """A copy whose device maps can be changed to plan the next device against what earlier plans leave."""
        projected = copy.copy(self)
        projected.devices = dict(self.devices)
        projected.held_after_unplug = dict(self.held_after_unplug)
        projected.leftovers = dict(self.leftovers)
        return projected

    # -- reading --------------------------------------------------------

    def slots_in_use(self, kind: str) -> Dict[int, str]:
        return {device.slot: device.id for device in self.devices.values() if device.kind == kind and device.slot is not None}

    def backends_in_use(self) -> int:
        return len(self.devices) + len(self.held_after_unplug)

    def holds_image(self, path: Optional[str]) -> bool:
        """Whether the VM holds the file ``path`` names open, under this name or another (a hard link, a symlink)."""
        if not path:
            return False
        identity = path_identity(path)
        return (identity is not None and identity in self.image_ids) or _real(path) in self.images

    @staticmethod
    def same_image(left: Optional[str], right: Optional[str]) -> bool:
        """Whether two paths name one file: by identity (device and inode, or device number), else by real path."""
        if not left or not right:
            return False
        left_id, right_id = path_identity(left), path_identity(right)
        if left_id is not None and right_id is not None:
            return left_id == right_id
        return _real(left) == _real(right)

    def device_with_path(self, path: str) -> Optional[CurrentDevice]:
        for device in self.devices.values():
            if self.same_image(device.path, path):
                return device
        return None

    def device_with_tap(self, ifname: str) -> Optional[CurrentDevice]:
        for device in self.devices.values():
            if device.ifname == ifname:
                return device
        return None

    def adopt_if_unexplained(self, spec: DeviceSpec) -> None:
        """A device the task names whose image (disk) or tap (NIC) the VM visibly holds, unknown to the record
        (deleted, or written by a run that died): take it as present, and record it, rather than plug it twice
        (``present``) or leave it plugged (``absent`` with its path or ifname). Its slot and options stay unknown."""
        if spec.id in self.devices or spec.id in self.leftovers:
            return
        if spec.kind == KIND_DISK and spec.path and self.holds_image(spec.path) and self.device_with_path(spec.path) is None:
            entry = DeviceEntry(spec.id, KIND_DISK, path=_real(spec.path))
        elif spec.kind == KIND_NIC and spec.ifname in self.taps and self.device_with_tap(spec.ifname) is None \
                and spec.ifname not in self.held_after_unplug:
            if self.dialect.nic_unplug_keeps_tap and spec.state == 'present':
                # 2.5.0 keeps the tap of an unplugged NIC: a held tap no record explains does not prove a NIC.
                raise DeviceInputError(
                    'tap %s of NIC %s is held by the VM, but the device record does not say by which device; StratoVirt '
                    '%s keeps the tap of an unplugged NIC until the VM exits, so that does not tell whether NIC %s is '
                    'attached. Unplug it first (state=absent with ifname %s; the tap then stays held until the VM '
                    'restarts), or use another tap' % (spec.ifname, spec.id, self.dialect.release_text, spec.id, spec.ifname))
            entry = DeviceEntry(spec.id, KIND_NIC, ifname=spec.ifname)
        else:
            return
        self.devices[spec.id] = CurrentDevice(spec.id, spec.kind, None, path=entry.path, ifname=entry.ifname,
                                              source=SOURCE_ADOPTED)
        self.record.put(entry)
        self.repairs.append('%s %s was found attached to the VM but not in the device record; it is taken as present and '
                            'recorded (its slot and options are unknown, so they are not compared)' % (spec.kind, spec.id))

    # -- building -------------------------------------------------------

    def add_cold_plugged(self, argv: List[str]) -> None:
        next_slot = {KIND_DISK: 0, KIND_NIC: 0}
        for cold in cold_plugged_devices(argv):
            if not cold.driver:
                continue
            bus = cold.options.get('bus') if self.dialect.machine != MACHINE_MICRO else None
            slot = None if bus is not None else next_slot[cold.kind]
            next_slot[cold.kind] += 1
            self.cold_ids.append(cold.id)
            entry = self.record.get(cold.id)
            if entry is not None and entry.state == 'tap-held':
                continue
            path = self._cold_image_path(cold.path) if cold.kind == KIND_DISK else None
            if path is not None:
                self.devices[cold.id] = CurrentDevice(cold.id, KIND_DISK, slot, path=path,
                                                      options={'read_only': bool(cold.read_only)}, source=SOURCE_COLD,
                                                      bus=bus)
            elif cold.kind == KIND_NIC and cold.ifname in self.taps:
                self.devices[cold.id] = CurrentDevice(cold.id, KIND_NIC, slot, ifname=cold.ifname, source=SOURCE_COLD, bus=bus)

    def _cold_image_path(self, path: Optional[str]) -> Optional[str]:
        """The image of a cold-plugged disk as the VM holds it (a relative path is the VM's: read from its cwd)."""
        if not path:
            return None
        seen_from_here = os.path.join('/proc/%d/cwd' % self.identity.pid, path)
        identity = path_identity(seen_from_here)
        if identity is not None and identity in self.image_ids:
            return self.image_ids[identity]
        return _real(path) if _real(path) in self.images else None

    def add_recorded(self) -> None:
        for entry in list(self.record.devices.values()):
            if entry.id in self.devices:
                continue
            if entry.state == 'tap-held':
                if entry.ifname in self.taps:
                    self.held_after_unplug[entry.ifname] = entry.id
                else:
                    self.record.remove(entry.id)
                continue
            if entry.state == 'plugging':
                self._add_interrupted(entry)
                continue
            if entry.state == 'unplug-pending':
                # Only the guest (or a later device_del's answer) can tell whether it has gone: keep it as pending.
                self.devices[entry.id] = CurrentDevice(entry.id, entry.kind, entry.slot, path=entry.path, ifname=entry.ifname,
                                                       options=dict(entry.options), bus=entry.bus, pending=True)
                continue
            if self._host_confirms(entry):
                self.devices[entry.id] = CurrentDevice(entry.id, entry.kind, entry.slot, path=entry.path,
                                                       ifname=entry.ifname, options=dict(entry.options), bus=entry.bus)
            elif self.dialect.machine != MACHINE_MICRO:
                # A standard VM backend outlives its device: an unplug cut before blockdev-del / netdev_del left it.
                entry.state = 'unplug-pending'
                self.devices[entry.id] = CurrentDevice(entry.id, entry.kind, entry.slot, path=entry.path, ifname=entry.ifname,
                                                       options=dict(entry.options), bus=entry.bus, pending=True)
                self.repairs.append('%s %s was in the device record but the VM no longer holds its %s: the guest let it '
                                    'go; its backend may still be registered, so it is recorded as unplug pending and '
                                    'the next task for it removes the backend' % (entry.kind, entry.id,
                                                                                  'image' if entry.kind == KIND_DISK else 'tap'))
            else:
                self.record.remove(entry.id)
                self.repairs.append('%s %s was in the device record but the VM no longer holds its %s; the record entry '
                                    'was dropped' % (entry.kind, entry.id, 'image' if entry.kind == KIND_DISK else 'tap'))

    def _add_interrupted(self, entry: DeviceEntry) -> None:
        # Every release attaches a tap at device_add, and up to 2.1 opens an image there too: held means that plug
        # went through (unless the tap is one an earlier unplug left held).
        opened_by_device_add = entry.kind == KIND_NIC or not self.dialect.opens_image_at_blockdev_add
        held_after_unplug = entry.kind == KIND_NIC and any(
            other.state == 'tap-held' and other.ifname == entry.ifname for other in self.record.devices.values())
        if opened_by_device_add and not held_after_unplug and self._host_confirms(entry):
            entry.state = 'plugged'
            self.devices[entry.id] = CurrentDevice(entry.id, entry.kind, entry.slot, path=entry.path,
                                                   ifname=entry.ifname, options=dict(entry.options), bus=entry.bus)
            self.repairs.append('%s %s: an earlier run was interrupted after plugging it; it is recorded as plugged'
                                % (entry.kind, entry.id))
        else:
            self.leftovers[entry.id] = entry
            self.repairs.append('%s %s: an earlier run was interrupted while plugging it; what it left is removed with '
                                'device_del before anything else' % (entry.kind, entry.id))

    def _host_confirms(self, entry: DeviceEntry) -> bool:
        if entry.kind == KIND_DISK:
            return self.holds_image(entry.path)
        return entry.ifname in self.taps


def gather(socket_path: str, dialect: Dialect, pid: int, argv: List[str]) -> VMState:
    """Read the record and the host view of the VM process ``pid`` (whose command line is ``argv``).

    :raises VMProcessError: the VM process cannot be inspected.
    :raises RecordError: the record cannot be trusted.
    """
    identity = process_identity(pid)
    record = DeviceRecord(record_path_for(socket_path), identity.pid, identity.start_time)
    record.load()
    state = VMState(dialect, identity, record)
    if record.discarded:
        state.repairs.append('the device record belonged to an earlier VM process (pid %s); it was discarded'
                             % record.discarded.get('pid'))
    state.images = [image.path for image in open_images(identity.pid, state.image_ids)]
    state.taps = held_taps(identity.pid)
    state.root_ports = root_ports(argv)
    state.add_cold_plugged(argv)
    state.add_recorded()
    return state
