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
from typing import Dict, List, Optional

from .cold_plug import cold_plugged_devices
from .model import SOURCE_ADOPTED, SOURCE_COLD, SOURCE_RECORD, Device
from .record import DeviceEntry, DeviceRecord, record_path_for
from .spec import DeviceSpec
from .kinds.registry import kind_named
from .._dialect.dialect import MACHINE_MICRO, Dialect
from .._dialect.cmdline import iothreads, root_ports
from .._host.process import ProcessIdentity, held_taps, open_images, path_identity, process_identity

__all__ = ['SOURCE_ADOPTED', 'SOURCE_COLD', 'SOURCE_RECORD', 'Device', 'VMState', 'gather']


class VMState:
    """What is plugged into one VM now. Build it with :func:`gather`."""

    def __init__(self, dialect: Dialect, identity: ProcessIdentity, record: DeviceRecord) -> None:
        self.dialect = dialect
        self.identity = identity
        self.record = record
        self.devices: Dict[str, Device] = {}
        self.images: List[str] = []
        self.image_ids: Dict[tuple, str] = {}  # file identity of each image the VM holds -> its path
        self.taps: List[str] = []
        # What an unplugged device left held (a 2.5.0 NIC's tap) -> that device's id: no other device may take it.
        self.retained_by_unplugged: Dict[str, str] = {}
        self.unfinished_plugs: Dict[str, DeviceEntry] = {}  # by an earlier run that died half-way
        self.root_ports: List[str] = []
        self.iothreads: List[str] = []  # -object iothread ids of its command line
        self.repairs: List[str] = []

    def projection(self) -> 'VMState':
        """A copy whose device maps can be changed to plan the next device against what earlier plans leave."""
        projected = copy.copy(self)
        projected.devices = dict(self.devices)
        projected.retained_by_unplugged = dict(self.retained_by_unplugged)
        projected.unfinished_plugs = dict(self.unfinished_plugs)
        return projected

    # -- reading --------------------------------------------------------

    def slots_in_use(self, kind: str) -> Dict[int, str]:
        return {device.slot: device.id for device in self.devices.values() if device.kind == kind and device.slot is not None}

    def backends_in_use(self) -> int:
        return len(self.devices) + len(self.retained_by_unplugged)

    def holds_image(self, path: Optional[str]) -> bool:
        """Whether the VM holds the file ``path`` (a real path: a normal form) names open, under this name or another
        (a hard link)."""
        if not path:
            return False
        identity = path_identity(path)
        return (identity is not None and identity in self.image_ids) or path in self.images

    def adopt_if_unexplained(self, spec: DeviceSpec) -> None:
        """A device the task names whose image (disk) or tap (NIC) the VM visibly holds, unknown to the record
        (deleted, or written by a run that died): take it as present, and record it, rather than plug it twice
        (``present``) or leave it plugged (``absent`` with its path or ifname). Its slot and options stay unknown."""
        if spec.id in self.devices or spec.id in self.unfinished_plugs:
            return
        device = kind_named(spec.kind).adopt(self, spec)
        if device is None:
            return
        self.devices[spec.id] = device
        self.record.put(DeviceEntry.from_device(device))
        self.repairs.append(
            '%s %s was found attached to the VM but not in the device record; it is taken as present and '
            'recorded (its slot and options are unknown, so they are not compared)' % (spec.kind, spec.id)
        )

    # -- building -------------------------------------------------------

    def add_cold_plugged(self, argv: List[str]) -> None:
        next_slot: Dict[str, int] = {}
        for cold in cold_plugged_devices(argv):
            if not cold.driver:
                continue
            bus = cold.props.get('bus') if self.dialect.machine != MACHINE_MICRO else None
            slot = None if bus is not None else next_slot.get(cold.kind, 0)
            next_slot[cold.kind] = next_slot.get(cold.kind, 0) + 1
            entry = self.record.get(cold.id)
            if entry is not None and entry.state == 'tap-held':
                continue
            device = kind_named(cold.kind).cold_device(self, cold, slot, bus)
            if device is not None:
                self.devices[cold.id] = device

    def cold_image_path(self, path: Optional[str]) -> Optional[str]:
        """The image of a cold-plugged disk as the VM holds it (a relative path is the VM's: read from its cwd)."""
        if not path:
            return None
        seen_from_here = os.path.join('/proc/%d/cwd' % self.identity.pid, path)
        identity = path_identity(seen_from_here)
        if identity is not None and identity in self.image_ids:
            return self.image_ids[identity]
        real = os.path.realpath(path)
        return real if real in self.images else None

    def add_recorded(self) -> None:
        for entry in list(self.record.devices.values()):
            if entry.id in self.devices:
                continue
            if entry.state == 'tap-held':
                kind_named(entry.kind).recall_retained(self, entry.as_device())
                continue
            if entry.state == 'plugging':
                self._add_interrupted(entry)
                continue
            if entry.state == 'unplug-pending':
                # Only the guest (or a later device_del's answer) can tell whether it has gone: keep it as pending.
                self.devices[entry.id] = entry.as_device(pending=True)
                continue
            kind = kind_named(entry.kind)
            if kind.host_holds(self, entry.as_device()):
                self.devices[entry.id] = entry.as_device()
            elif self.dialect.machine != MACHINE_MICRO:
                # A standard VM backend outlives its device: an unplug cut before blockdev-del / netdev_del left it.
                entry.state = 'unplug-pending'
                self.devices[entry.id] = entry.as_device(pending=True)
                self.repairs.append(
                    '%s %s was in the device record but the VM no longer holds its %s: the guest let it '
                    'go; its backend may still be registered, so it is recorded as unplug pending and '
                    'the next task for it removes the backend' % (entry.kind, entry.id, kind.held_noun)
                )
            else:
                self.record.remove(entry.id)
                self.repairs.append(
                    '%s %s was in the device record but the VM no longer holds its %s; the record entry was dropped' % (entry.kind, entry.id, kind.held_noun)
                )

    def _add_interrupted(self, entry: DeviceEntry) -> None:
        kind = kind_named(entry.kind)
        if kind.attached_at_device_add(self, entry.as_device()) and kind.host_holds(self, entry.as_device()):
            entry.state = 'plugged'
            self.devices[entry.id] = entry.as_device()
            self.repairs.append('%s %s: an earlier run was interrupted after plugging it; it is recorded as plugged' % (entry.kind, entry.id))
        else:
            self.unfinished_plugs[entry.id] = entry
            self.repairs.append(
                '%s %s: an earlier run was interrupted while plugging it; what it left is removed with device_del before anything else' % (entry.kind, entry.id)
            )


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
        state.repairs.append('the device record belonged to an earlier VM process (pid %s); it was discarded' % record.discarded.get('pid'))
    state.images = [image.path for image in open_images(identity.pid, state.image_ids)]
    state.taps = held_taps(identity.pid)
    state.root_ports = root_ports(argv)
    state.iothreads = iothreads(argv)
    state.add_cold_plugged(argv)
    state.add_recorded()
    return state
