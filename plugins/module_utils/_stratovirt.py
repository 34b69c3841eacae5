# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StratoVirt QMP dialect: which release and machine type a monitor is, and the commands each one wants.

Private to the stratovirt.qmp collection: may change in any release.
Facts come from docs/stratovirt-qmp.md (sections 2, 3, 6 and 7) and the recordings of real 2.1.0 and
2.5.0 VMs. Standard library only; it takes a connected QMP client and never touches Ansible.
"""

from __future__ import annotations

import re
from typing import NamedTuple, Optional, Tuple

from ._qmp_errors import QMPCommandError

MACHINE_MICRO = 'micro'
MACHINE_STANDARD = 'standard'
OLDEST_SUPPORTED = (2, 1, 0)
# A node name no one uses: blockdev-del of it changes nothing and its error tells the machine type.
PROBE_NODE = 'stratovirt-qmp-machine-probe'
PACKAGE_PATTERN = re.compile(r'^StratoVirt-(\d+)\.(\d+)\.(\d+)')

MICRO_DISK_SLOTS = 4
MICRO_NIC_SLOTS = 2
MICRO_BACKENDS = 6


class DialectError(Exception):
    """The monitor is not a StratoVirt this collection can drive."""


class Dialect(NamedTuple):
    """What one StratoVirt release on one machine type wants on the wire."""

    release: Tuple[int, int, int]
    machine: str

    @property
    def release_text(self) -> str:
        return '%d.%d.%d' % self.release

    @property
    def requires_aio_with_direct(self) -> bool:
        """2.3.0+: ``cache.direct`` true is refused unless ``file.aio`` is set (and 2.2.0- has no aio key)."""
        return self.release >= (2, 3, 0)

    @property
    def knows_aio(self) -> bool:
        return self.release >= (2, 3, 0)

    @property
    def opens_image_at_blockdev_add(self) -> bool:
        """2.2.0+ opens (and locks) the image at ``blockdev-add``; before, at ``device_add``."""
        return self.release >= (2, 2, 0)

    @property
    def micro_needs_drive_and_chardev(self) -> bool:
        """2.5.0+: a micro VM ``device_add`` needs ``drive`` (disk) or ``chardev`` (NIC)."""
        return self.release >= (2, 5, 0)

    @property
    def micro_uses_serial_and_mac(self) -> bool:
        """Up to 2.4 a micro VM reads only id, driver, addr and lun of a ``device_add``."""
        return self.release >= (2, 5, 0)

    @property
    def nic_unplug_keeps_tap(self) -> bool:
        """2.5.0 defect: the tap of an unplugged NIC stays open until the VM exits (on a micro VM the unplug also
        answers ``failed to update config.``)."""
        return self.release >= (2, 5, 0)

    @property
    def unplug_has_busy_check(self) -> bool:
        """2.2.0+ refuses a second standard VM ``device_del`` while the guest blinks (``still on the fly``), so
        sending it again cannot cancel a Linux guest's pending unplug; 2.1.0 would press the button again."""
        return self.release >= (2, 2, 0)

    def is_absent_reply(self, desc: str, device_id: str) -> bool:
        """Whether ``desc`` is what ``device_del`` of an id the VM does not have answers (matched exactly)."""
        if self.machine == MACHINE_MICRO:
            return desc == 'Device %s not found' % device_id
        return desc in ('Failed to remove device: id %s not found' % device_id,   # 2.1.0-2.2.0
                        'Can not find parent device from pci bus',               # 2.3.0+, no xHCI controller
                        'Failed to detach device: id %s not found' % device_id)  # 2.3.0+, with an xHCI controller

    # -- standard VM commands ---------------------------------------------

    def pci_disk_device(self, device_id: str, bus: str, serial: Optional[str] = None) -> dict:
        arguments = {'id': device_id, 'driver': 'virtio-blk-pci', 'drive': device_id, 'bus': bus, 'addr': '0x0'}
        if serial is not None:
            arguments['serial'] = serial
        return arguments

    def pci_nic_device(self, device_id: str, bus: str, mac: Optional[str] = None) -> dict:
        arguments = {'id': device_id, 'driver': 'virtio-net-pci', 'netdev': device_id, 'bus': bus, 'addr': '0x0'}
        if mac is not None:
            arguments['mac'] = mac
        return arguments

    # -- micro VM commands ------------------------------------------------

    def disk_backend(self, node: str, path: str, read_only: bool, direct: bool, aio: Optional[str]) -> dict:
        """``blockdev-add`` arguments; ``aio`` None picks what this release accepts."""
        file_args = {'driver': 'file', 'filename': path}
        chosen = self.default_aio(direct) if aio is None else aio
        if chosen is not None:
            file_args['aio'] = chosen
        return {'node-name': node, 'file': file_args, 'cache': {'direct': direct}, 'read-only': read_only}

    def default_aio(self, direct: bool) -> Optional[str]:
        """The aio a release needs: none before 2.3.0 (no such key), ``native`` with direct I/O from 2.3.0."""
        if not self.knows_aio or not direct:
            return None
        return 'native'

    def micro_disk_device(self, device_id: str, slot: int, serial: Optional[str] = None) -> dict:
        arguments = {'id': device_id, 'driver': 'virtio-blk-mmio', 'addr': '0x%x' % slot}
        if self.micro_needs_drive_and_chardev:
            arguments['drive'] = device_id
        if serial is not None and self.micro_uses_serial_and_mac:
            arguments['serial'] = serial
        return arguments

    def nic_backend(self, netdev_id: str, ifname: str) -> dict:
        return {'id': netdev_id, 'ifname': ifname}

    def micro_nic_device(self, device_id: str, slot: int, mac: Optional[str] = None) -> dict:
        arguments = {'id': device_id, 'driver': 'virtio-net-mmio', 'addr': '0x%x' % slot}
        if self.micro_needs_drive_and_chardev:
            # 2.5.0 reads the netdev from "chardev" (a bug in StratoVirt); any value works, the id is clearest.
            arguments['chardev'] = device_id
        if mac is not None and self.micro_uses_serial_and_mac:
            arguments['mac'] = mac
        return arguments


def parse_release(package: str) -> Tuple[int, int, int]:
    """``"StratoVirt-2.1.0"`` -> (2, 1, 0).

    :raises DialectError: not a StratoVirt package string.
    """
    match = PACKAGE_PATTERN.match(package or '')
    if not match:
        raise DialectError('query-version reported package %r, which is not StratoVirt' % package)
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def probe_machine(client) -> str:
    """Tell micro from standard without side effects: ``blockdev-del`` of a node that does not exist.

    :raises DialectError: the answer is neither StratoVirt's micro nor its standard one.
    """
    try:
        client.execute('blockdev-del', {'node-name': PROBE_NODE})
    except QMPCommandError as exc:
        if exc.desc == 'blockdev_del not support yet':
            return MACHINE_MICRO
        if exc.desc == 'Drive %s not found' % PROBE_NODE:
            return MACHINE_STANDARD
        raise DialectError('cannot tell the machine type: blockdev-del of an unknown node answered %r' % exc.desc) from exc
    raise DialectError('cannot tell the machine type: blockdev-del of an unknown node succeeded (StratoVirt before 2.1?)')


def detect(client, machine: Optional[str] = None) -> Dialect:
    """Read the release (``query-version``) and the machine type (probe, unless ``machine`` is given).

    :raises DialectError: not StratoVirt, or a release older than 2.1.0.
    :raises QMPError: transport failures.
    """
    try:
        version = client.execute('query-version')
    except QMPCommandError as exc:
        raise DialectError('query-version failed (%s): StratoVirt before 2.0 is not supported' % exc.desc) from exc
    package = version.get('package', '') if isinstance(version, dict) else ''
    release = parse_release(package)
    if release < OLDEST_SUPPORTED:
        raise DialectError('StratoVirt %d.%d.%d is older than 2.1.0, the oldest release this collection drives' % release)
    return Dialect(release, machine or probe_machine(client))
