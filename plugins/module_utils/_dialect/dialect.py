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

from . import releases as _traits
from .._collection_error import CollectionError
from .._qmp.errors import QMPCommandError

MACHINE_MICRO = _traits.MACHINE_MICRO
MACHINE_STANDARD = _traits.MACHINE_STANDARD
OLDEST_SUPPORTED = _traits.OLDEST_SUPPORTED
NEWEST_KNOWN = _traits.NEWEST_KNOWN
# A node name no one uses: blockdev-del of it changes nothing and its error tells the machine type.
PROBE_NODE = 'stratovirt-qmp-machine-probe'
PACKAGE_PATTERN = re.compile(r'^StratoVirt-(\d+)\.(\d+)\.(\d+)')

MICRO_DISK_SLOTS = 4
MICRO_NIC_SLOTS = 2
MICRO_BACKENDS = 6


# query-balloon without a balloon device, and balloon until the guest's driver has activated it (every release).
BALLOON_INACTIVE_CLASS = 'DeviceNotActive'
BALLOON_INACTIVE = 'No balloon device has been activated'


class DialectError(CollectionError):
    """The monitor is not a StratoVirt this collection can drive."""


class NotStratoVirtError(DialectError):
    """The monitor's ``query-version`` names another program (QEMU, say)."""


def _release_text(release: Tuple[int, int, int]) -> str:
    return '%d.%d.%d' % release


def where_honoured(option: str) -> str:
    """Where hot-plug option ``option`` is honoured, in words: ``standard VMs of StratoVirt 2.3.0 or later``."""
    takers = []
    for machine in (MACHINE_MICRO, MACHINE_STANDARD):
        since = _traits.option_since(option, machine)
        if since is not None:
            takers.append('%s VMs of StratoVirt %s or later' % (machine, _release_text(since)))
    return ' and '.join(takers)


class Dialect(NamedTuple):
    """What one StratoVirt release on one machine type wants on the wire, and what its replies mean."""

    release: Tuple[int, int, int]
    machine: str

    @property
    def release_text(self) -> str:
        return _release_text(self.release)

    @property
    def newer_than_known(self) -> bool:
        return self.release > NEWEST_KNOWN

    @property
    def release_warning(self) -> Optional[str]:
        """What to tell the user once per run about a release this collection was not checked against."""
        if not self.newer_than_known:
            return None
        newest = _release_text(NEWEST_KNOWN)
        return (
            'StratoVirt %s is newer than %s, the newest release this collection knows: it is driven as %s. A reply '
            'whose text changed is reported as a failure, not misread' % (self.release_text, newest, newest)
        )

    # -- behaviours (see _stratovirt_traits.BEHAVIOURS) --------------------

    @property
    def requires_aio_with_direct(self) -> bool:
        return _traits.has_behaviour('requires_aio_with_direct', self.release)

    @property
    def knows_aio(self) -> bool:
        return _traits.has_behaviour('knows_aio', self.release)

    @property
    def opens_image_at_blockdev_add(self) -> bool:
        return _traits.has_behaviour('opens_image_at_blockdev_add', self.release)

    @property
    def micro_needs_drive_and_chardev(self) -> bool:
        return _traits.has_behaviour('micro_needs_drive_and_chardev', self.release)

    @property
    def micro_uses_serial_and_mac(self) -> bool:
        return _traits.has_behaviour('micro_uses_serial_and_mac', self.release)

    @property
    def nic_unplug_keeps_tap(self) -> bool:
        return _traits.has_behaviour('nic_unplug_keeps_tap', self.release)

    @property
    def unplug_has_busy_check(self) -> bool:
        return _traits.has_behaviour('unplug_has_busy_check', self.release)

    @property
    def has_nic_unplug_defect(self) -> bool:
        """Whether a micro VM NIC ``device_del`` may answer the defect reply (then a second one tells the outcome)."""
        return bool(_traits.templates(self.machine, 'nic_unplug_defect', self.release))

    # -- resources (see releases.VCPU_HOTPLUG, releases.HOTPLUG_REFUSED_DRIVERS) --

    @property
    def vcpu_hotplug_refusal(self) -> Optional[str]:
        """Why no vCPU may be hot-plugged into this VM (missing, or it hangs the VM), or None when it works."""
        return _traits.vcpu_hotplug_refusal(self.machine, self.release)

    def hotplug_refusal(self, driver: str) -> Optional[str]:
        """Why a device of ``driver`` (passthrough, vhost-user) cannot be hot-plugged into this VM, or None."""
        return _traits.hotplug_refusals(self.machine, self.release).get(driver)

    @staticmethod
    def is_balloon_inactive(error: QMPCommandError) -> bool:
        """Whether ``query-balloon``/``balloon`` failed because no balloon device, or no guest driver, is active."""
        return error.error_class == BALLOON_INACTIVE_CLASS and error.desc == BALLOON_INACTIVE

    # -- hot-plug options (see _stratovirt_traits.OPTIONS_SINCE) -----------

    def option_refusal(self, option: str) -> Optional[str]:
        """Why this VM cannot take hot-plug option ``option``, as a clause naming the machine type or release, or None."""
        since = _traits.option_since(option, self.machine)
        if since is None:
            takers = [machine for machine in (MACHINE_MICRO, MACHINE_STANDARD) if _traits.option_since(option, machine)]
            return 'a %s VM ignores it (StratoVirt honours it on %s VMs only)' % (self.machine, ' and '.join(takers))
        if self.release < since:
            return 'a %s VM takes it from StratoVirt %s; this VM runs %s' % (self.machine, _release_text(since), self.release_text)
        return None

    def _typed(self, option: str, value):
        """``value`` in the JSON type this release parses ``option`` as (see _stratovirt_traits.VALUE_TYPES)."""
        if _traits.value_type(option, self.release) == 'string':
            return ('on' if value else 'off') if isinstance(value, bool) else str(value)
        return value

    # -- what a reply means (see _stratovirt_traits.REPLIES) ---------------

    def _says(self, meaning: str, desc: Optional[str], **fields: object) -> bool:
        return _traits.matches(self.machine, meaning, self.release, desc, **fields)

    def is_absent_reply(self, desc: Optional[str], device_id: str) -> bool:
        """``device_del`` of an id the VM does not have."""
        return self._says('absent', desc, id=device_id)

    def is_backend_present(self, desc: Optional[str], device_id: str) -> bool:
        """``blockdev-add`` / ``netdev_add`` of an id, or a file, the VM already has."""
        return self._says('backend_present', desc, id=device_id)

    def is_place_taken(self, desc: Optional[str], slot: Optional[int] = None) -> bool:
        """``device_add`` into a slot (micro) or root port (standard) that some device holds."""
        return self._says('place_taken', desc, slot=slot)

    def is_already_plugged(self, desc: Optional[str], device_id: str) -> bool:
        """``device_add`` of an id the VM has plugged (standard VM only: a micro VM does not tell)."""
        return self._says('already_plugged', desc, id=device_id)

    def is_unplug_busy(self, desc: Optional[str]) -> bool:
        """``device_del`` while the guest is still busy with an earlier (un)plug."""
        return self._says('unplug_busy', desc)

    def is_nic_unplug_defect(self, desc: Optional[str], device_id: str) -> bool:
        """The 2.5.0 micro VM NIC ``device_del`` defect: slot and config freed, backend reset failed, tap kept."""
        return self._says('nic_unplug_defect', desc, id=device_id)

    def is_backend_absent(self, desc: Optional[str], device_id: str) -> bool:
        """``blockdev-del`` / ``netdev_del`` of a backend the VM does not have."""
        return self._says('backend_absent', desc, id=device_id)

    def is_backend_del_unsupported(self, desc: Optional[str]) -> bool:
        """``blockdev-del`` / ``netdev_del`` on a machine type that has neither (a micro VM)."""
        return self._says('backend_del_unsupported', desc)

    # -- standard VM commands ---------------------------------------------

    def pci_disk_device(
        self,
        device_id: str,
        bus: str,
        serial: Optional[str] = None,
        iothread: Optional[str] = None,
        num_queues: Optional[int] = None,
        queue_size: Optional[int] = None,
        boot_index: Optional[int] = None,
    ) -> dict:
        """``device_add`` arguments; an option left None is not sent."""
        arguments = {'id': device_id, 'driver': 'virtio-blk-pci', 'drive': device_id, 'bus': bus, 'addr': '0x0'}
        tuning = {'num-queues': num_queues, 'queue-size': queue_size, 'boot_index': boot_index}
        return _with(arguments, serial=serial, iothread=iothread, **tuning)

    def pci_nic_device(self, device_id: str, bus: str, mac: Optional[str] = None, queues: Optional[int] = None) -> dict:
        """``device_add`` arguments. Multi-queue (``queues`` above 1) needs ``mq``; StratoVirt drops ``vectors`` on the
        way to the device (docs/stratovirt-qmp.md 2.6) and sizes them from the netdev's queues, so none are sent."""
        arguments = {'id': device_id, 'driver': 'virtio-net-pci', 'netdev': device_id, 'bus': bus, 'addr': '0x0'}
        return _with(arguments, mac=mac, mq='on' if queues is not None and queues > 1 else None)

    # -- micro VM commands ------------------------------------------------

    def disk_backend(
        self,
        node: str,
        path: str,
        read_only: bool,
        direct: bool,
        aio: Optional[str],
        discard: Optional[str] = None,
        image_format: Optional[str] = None,
        detect_zeroes: Optional[str] = None,
        iops: Optional[int] = None,
    ) -> dict:
        """``blockdev-add`` arguments; ``aio`` None picks what this release accepts; an option left None is not sent.

        A micro VM ignores ``driver`` (it reads every image raw): a format is sent to a standard VM only.
        """
        file_args = {'driver': 'file', 'filename': path}
        chosen = self.default_aio(direct) if aio is None else aio
        if chosen is not None:
            file_args['aio'] = chosen
        arguments = {'node-name': node, 'file': file_args, 'cache': {'direct': direct}, 'read-only': read_only}
        if self.machine == MACHINE_MICRO:
            image_format = None
        return _with(arguments, driver=image_format, discard=discard, **{'detect-zeroes': detect_zeroes, 'throttling.iops-total': iops})

    def default_aio(self, direct: bool) -> Optional[str]:
        """The aio a release needs: none before 2.3.0 (no such key), ``native`` with direct I/O from 2.3.0."""
        if not self.knows_aio or not direct:
            return None
        return 'native'

    def micro_disk_device(
        self, device_id: str, slot: int, serial: Optional[str] = None, iothread: Optional[str] = None, boot_index: Optional[int] = None
    ) -> dict:
        arguments = {'id': device_id, 'driver': 'virtio-blk-mmio', 'addr': '0x%x' % slot}
        if self.micro_needs_drive_and_chardev:
            arguments['drive'] = device_id
        if serial is not None and self.micro_uses_serial_and_mac:
            arguments['serial'] = serial
        return _with(arguments, iothread=iothread, boot_index=boot_index)

    def nic_backend(self, netdev_id: str, ifname: str, queues: Optional[int] = None, vhost: Optional[bool] = None) -> dict:
        """``netdev_add`` arguments, ``queues`` and ``vhost`` in the type this release parses; vhost off is not sent."""
        arguments = {'id': netdev_id, 'ifname': ifname}
        return _with(
            arguments,
            queues=None if queues is None else self._typed('netdev_add queues', queues),
            vhost=self._typed('netdev_add vhost', True) if vhost else None,
        )

    def micro_nic_device(self, device_id: str, slot: int, mac: Optional[str] = None, iothread: Optional[str] = None) -> dict:
        arguments = {'id': device_id, 'driver': 'virtio-net-mmio', 'addr': '0x%x' % slot}
        if self.micro_needs_drive_and_chardev:
            # 2.5.0 reads the netdev from "chardev" (a bug in StratoVirt); any value works, the id is clearest.
            arguments['chardev'] = device_id
        if mac is not None and self.micro_uses_serial_and_mac:
            arguments['mac'] = mac
        return _with(arguments, iothread=iothread)


def _with(arguments: dict, **options: object) -> dict:
    """``arguments`` with each option that is not None added, in the order given."""
    arguments.update((key, value) for key, value in options.items() if value is not None)
    return arguments


def parse_release(package: str) -> Tuple[int, int, int]:
    """``"StratoVirt-2.1.0"`` -> (2, 1, 0).

    :raises NotStratoVirtError: not a StratoVirt package string.
    """
    match = PACKAGE_PATTERN.match(package or '')
    if not match:
        raise NotStratoVirtError('query-version reported package %r, which is not StratoVirt' % package)
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def probe_machine(client, release: Tuple[int, int, int] = NEWEST_KNOWN) -> str:
    """Tell micro from standard without side effects: ``blockdev-del`` of a node that does not exist.

    :raises DialectError: the answer is neither StratoVirt's micro nor its standard one.
    """
    try:
        client.execute('blockdev-del', {'node-name': PROBE_NODE})
    except QMPCommandError as exc:
        for machine in (MACHINE_MICRO, MACHINE_STANDARD):
            dialect = Dialect(release, machine)
            if dialect.is_backend_del_unsupported(exc.desc) or dialect.is_backend_absent(exc.desc, PROBE_NODE):
                return machine
        raise DialectError('cannot tell the machine type: blockdev-del of an unknown node answered %r' % exc.desc) from exc
    raise DialectError('cannot tell the machine type: blockdev-del of an unknown node succeeded (StratoVirt before 2.1?)')


# Every StratoVirt greets with a hard-coded "qemu" 5.0.1, no capabilities, and an empty package (up to 2.2.0) or
# "StratoVirt-<release>" (2.3.0 on): docs/stratovirt-qmp.md section 1.2. QEMU offers "oob" and its own version.
STRATOVIRT_GREETING_VERSION = {'major': 5, 'minor': 0, 'micro': 1}


def check_greeting(greeting: Optional[dict]) -> None:
    """Tell StratoVirt from QEMU and other QMP servers by the greeting, before anything is sent.

    :param greeting: the ``QMP`` member of the greeting (None: not read, nothing to tell).
    :raises NotStratoVirtError: the greeting is not one StratoVirt sends.
    """
    if greeting is None:
        return
    found = greeting.get('version')
    version: dict = found if isinstance(found, dict) else {}
    package = version.get('package')
    stratovirt = (
        version.get('qemu') == STRATOVIRT_GREETING_VERSION
        and greeting.get('capabilities') == []
        and isinstance(package, str)
        and (package == '' or PACKAGE_PATTERN.match(package) is not None)
    )
    if not stratovirt:
        raise NotStratoVirtError(
            'the QMP greeting (version %s, package %r, capabilities %s) is not StratoVirt\'s (QEMU or another QMP server?)'
            % (_version_text(version.get('qemu')), package, greeting.get('capabilities'))
        )


def _version_text(qemu: object) -> str:
    if isinstance(qemu, dict):
        return '%s.%s.%s' % (qemu.get('major'), qemu.get('minor'), qemu.get('micro'))
    return repr(qemu)


def detect(client, machine: Optional[str] = None) -> Dialect:
    """Read the release (``query-version``) and the machine type (probe, unless ``machine`` is given).

    The greeting is checked first: a QEMU is refused before any command is sent to it.

    :raises NotStratoVirtError: the greeting or ``query-version`` names another program.
    :raises DialectError: a release older than 2.1.0.
    :raises QMPError: transport failures.
    """
    check_greeting(getattr(client, 'greeting', None))
    try:
        version = client.execute('query-version')
    except QMPCommandError as exc:
        raise DialectError('query-version failed (%s): StratoVirt before 2.0 is not supported' % exc.desc) from exc
    package = version.get('package', '') if isinstance(version, dict) else ''
    release = parse_release(package)
    if release < OLDEST_SUPPORTED:
        raise DialectError('StratoVirt %d.%d.%d is older than 2.1.0, the oldest release this collection drives' % release)
    return Dialect(release, machine or probe_machine(client, release))
