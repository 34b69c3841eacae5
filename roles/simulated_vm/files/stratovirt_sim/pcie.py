# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PCIe topology of a standard VM: the root bus, its root ports, and the devices on them.

Mirrors docs/stratovirt-qmp.md section 4: ``pcie.0`` is the root bus and has no
hot-plug controller; each ``pcie-root-port`` is a device on ``pcie.0`` whose
secondary bus carries its id as name and has one. Devices are keyed by devfn
(slot * 8 + function) on their bus; ids are looked up across every bus, root
ports included, as ``PciBus::find_attached_bus`` does.
"""

from __future__ import annotations

import re
from typing import Dict, Iterator, List, Optional, Tuple

from .micro import Backend

ROOT_BUS = 'pcie.0'
HEX_PART = re.compile(r'^(0x)?([0-9a-fA-F]+)$')
MAX_SLOT = 31
MAX_FUNCTION = 7
# Devices a q35 machine puts on pcie.0 itself: the host bridge at 00.0 and the ICH9 LPC bridge at 1f.0.
BUILTIN_DEVFNS = {0: 'pcie-host-bridge', 0x1F * 8: 'ich9-lpc'}


def parse_devfn(addr: str) -> Optional[int]:
    """``0xS`` or ``0xS.0xF`` (hex, ``0x`` optional) -> devfn; None when it does not parse (``get_pci_df``)."""
    parts = addr.split('.')
    if len(parts) > 2:
        return None
    numbers = []
    for part in parts:
        match = HEX_PART.match(part)
        if not match:
            return None
        numbers.append(int(match.group(2), 16))
    slot, function = numbers[0], numbers[1] if len(numbers) == 2 else 0
    if slot > MAX_SLOT or function > MAX_FUNCTION:
        return None
    return slot * 8 + function


class PciDevice(Backend):
    """One function on a bus, with the host resources it holds itself (2.1.0 images, taps)."""

    def __init__(self, device_id: str, kind: str, devfn: int) -> None:
        super().__init__(device_id, kind, {})  # kind: 'blk', 'net', 'root-port' or 'builtin'
        self.devfn = devfn

    def take_tap(self) -> Optional[int]:
        fd, self.tap_fd = self.tap_fd, None
        return fd


class PciBus:
    def __init__(self, name: str, hotplug: bool) -> None:
        self.name = name
        self.hotplug = hotplug  # root ports' buses only
        self.blinking = False  # the guest set the slot's power indicator to blink
        self.devices: Dict[int, PciDevice] = {}


class Topology:
    """Every bus of the machine, starting with the bare root bus."""

    def __init__(self) -> None:
        root = PciBus(ROOT_BUS, hotplug=False)
        for devfn, name in BUILTIN_DEVFNS.items():
            root.devices[devfn] = PciDevice(name, 'builtin', devfn)
        self.buses: Dict[str, PciBus] = {ROOT_BUS: root}

    def add_root_port(self, port_id: str, devfn: int) -> None:
        """A ``pcie-root-port`` on pcie.0 and its hot-plug capable secondary bus.

        :raises ValueError: id or devfn already taken.
        """
        root = self.buses[ROOT_BUS]
        if self.find(port_id) is not None or port_id in self.buses:
            raise ValueError('device id %s is used twice' % port_id)
        if devfn in root.devices:
            raise ValueError('devfn %d of %s is taken' % (devfn, ROOT_BUS))
        root.devices[devfn] = PciDevice(port_id, 'root-port', devfn)
        self.buses[port_id] = PciBus(port_id, hotplug=True)

    def free_root_slot(self, first_slot: int) -> int:
        """The devfn of the first free slot of pcie.0 from ``first_slot`` on."""
        root = self.buses[ROOT_BUS]
        for slot in range(first_slot, MAX_SLOT + 1):
            if slot * 8 not in root.devices:
                return slot * 8
        raise ValueError('no free slot on %s' % ROOT_BUS)

    def devices(self) -> Iterator[Tuple[PciBus, PciDevice]]:
        for bus in self.buses.values():
            for device in bus.devices.values():
                yield bus, device

    def find(self, device_id: str) -> Optional[Tuple[PciBus, PciDevice]]:
        for bus, device in self.devices():
            if device.kind != 'builtin' and device.id == device_id:
                return bus, device
        return None

    def hot_devices(self) -> List[PciDevice]:
        return [device for dummy, device in self.devices() if device.kind in ('blk', 'net')]
