# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changed in StratoVirt's QMP from one release to the next, as data keyed by the release that brought it.

Private to the stratovirt.qmp collection: may change in any release.

This module and ``_dialect/dialect.py`` are the only places that know StratoVirt's reply texts
(tests/unit/plugins/module_utils/_dialect/test_releases.py checks that). A release newer than the
newest known gets the newest known traits, because each entry holds until a later release replaces it.

Sources: docs/stratovirt-qmp.md (sections 4, 5, 6, 7, 11-14), tests/real/probe_release.py run on the real binaries
of 2.1.0 to 2.5.0 (section 14) and tests/fixtures/transcripts/ (2.1.0 to 2.5.0), which win. Entries no real binary
could show here (section 15 lists them) keep the release the source reading named.
In a template, ``{id}``, ``{slot}`` ... stand for the value asked about and ``{any}`` for any text.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Sequence, Tuple

Release = Tuple[int, int, int]

MACHINE_MICRO = 'micro'
MACHINE_STANDARD = 'standard'
OLDEST_SUPPORTED: Release = (2, 1, 0)
NEWEST_KNOWN: Release = (2, 5, 0)

# Behaviours: the release that introduced each one.
BEHAVIOURS: Dict[str, Release] = {
    # the image is opened (and locked) at blockdev-add; before, at device_add (recorded on 2.2.0)
    'opens_image_at_blockdev_add': (2, 2, 0),
    # a second standard VM device_del while the guest blinks is refused, so it cannot cancel a pending unplug
    # (recorded on 2.5.0; 2.2.0 from the source reading: OVMF never blinks, so no recording of 2.2.0-2.4.0 shows it)
    'unplug_has_busy_check': (2, 2, 0),
    # FileOptions has an aio key (sending it before fails with "unknown field"; recorded on 2.2.0 and 2.3.0)
    'knows_aio': (2, 3, 0),
    # cache.direct true is refused unless file.aio is set (recorded on 2.3.0)
    'requires_aio_with_direct': (2, 3, 0),
    # a micro VM device_add needs drive (disk) or chardev (NIC) (2.2.0-2.4.0 recorded taking it without)
    'micro_needs_drive_and_chardev': (2, 5, 0),
    # before, a micro VM device_add reads only id, driver, addr and lun (source reading: without a guest no
    # release shows whether it used serial or mac)
    'micro_uses_serial_and_mac': (2, 5, 0),
    # the tap of an unplugged NIC stays open until the VM exits (a defect; 2.2.0-2.4.0 recorded freeing it)
    'nic_unplug_keeps_tap': (2, 5, 0),
}

# Hot-plug options, named by where they go on the wire: per machine type, the release from which StratoVirt takes and
# honours each one. A machine type an entry does not name ignores the option (or refuses it) on every release, and
# a release before the one named refuses it (unknown field) or ignores it. Sources: tests/real/probe_release.py run on
# the real binaries of 2.1.0 to 2.5.0 (docs/stratovirt-qmp.md section 14: a value the release must refuse if it reads
# the option), docs/stratovirt-qmp.md 2.2, 2.4, 2.6 and the recordings. Where the probe cannot tell whether a value
# it parses is used (no guest to look), the entry keeps the release the source reading named.
OPTIONS_SINCE: Dict[str, Dict[str, Release]] = {
    # Measured on the real binaries: a micro VM ignores blockdev-add driver and reads every image raw (2.1.0-2.5.0
    # plug a qcow2 image with a corrupt header as well as a raw one under driver=qcow2); a standard VM of 2.1.0 or
    # 2.2.0, which have no qcow2 at all, takes driver=qcow2 without reading it and opens the image raw; 2.3.0 is the
    # first to read qcow2 (its device_add refuses a corrupt qcow2 header).
    'blockdev-add driver=qcow2': {MACHINE_STANDARD: (2, 3, 0)},
    'blockdev-add discard': {MACHINE_STANDARD: (2, 1, 0)},
    # unknown field before 2.3.0; 2.3.0 validates the value
    'blockdev-add detect-zeroes': {MACHINE_STANDARD: (2, 3, 0)},
    'blockdev-add throttling.iops-total': {MACHINE_STANDARD: (2, 1, 0)},
    # before 2.5.0 a micro VM device_add reads only id, driver, addr and lun
    'virtio-blk iothread': {MACHINE_MICRO: (2, 5, 0), MACHINE_STANDARD: (2, 1, 0)},
    # unknown fields on 2.1.0; 2.2.0 validates num-queues (1-32) and queue-size (a power of two)
    'virtio-blk num-queues': {MACHINE_STANDARD: (2, 2, 0)},
    'virtio-blk queue-size': {MACHINE_STANDARD: (2, 2, 0)},
    'virtio-blk boot_index': {MACHINE_MICRO: (2, 5, 0), MACHINE_STANDARD: (2, 2, 0)},
    # a micro VM has no multi-queue and no vhost (a vhost NIC is not even replaceable there)
    'netdev_add queues': {MACHINE_STANDARD: (2, 1, 0)},
    'netdev_add vhost': {MACHINE_STANDARD: (2, 1, 0)},
    'virtio-net iothread': {MACHINE_MICRO: (2, 5, 0)},
}

# vCPU hot-plug (device_add generic-x86-cpu with cpu-id), per machine type: ((release, None when it works, else why it
# is refused), ...), oldest first. A release that fixes it is a new entry here. Sources: the resource recordings
# (2.1.0, 2.5.0) and tests/real/ measured on 2.2.0-2.4.0 (cpu-id an unknown field on 2.2.0 and 2.3.0; on 2.4.0 a
# valid cpu-id answers {} and the monitor never answers again, as on 2.5.0).
VCPU_HOTPLUG_MISSING = 'StratoVirt {release} has no vCPU hot-plug on a {machine} VM'
VCPU_HOTPLUG_HANGS = (
    'vCPU hot-plug hangs a StratoVirt {release} {machine} VM for good (its first device_add generic-x86-cpu answers, '
    'then the VM never answers again and ignores SIGTERM: a lock taken twice in its vCPU hot-plug path)'
)
VCPU_HOTPLUG: Dict[str, Sequence[Tuple[Release, Optional[str]]]] = {
    MACHINE_MICRO: (((2, 1, 0), VCPU_HOTPLUG_MISSING),),
    MACHINE_STANDARD: (((2, 1, 0), VCPU_HOTPLUG_MISSING), ((2, 4, 0), VCPU_HOTPLUG_HANGS)),
}

# Hot-plug drivers a release's default build lacks or refuses, per machine type: ((release, {driver: why}), ...),
# oldest first. They exist as cold-plugged devices (on the command line). Source: the resource recordings, section c.
PASSTHROUGH_REFUSED = 'Driver {driver} is not support'
HOTPLUG_REFUSED_DRIVERS: Dict[str, Sequence[Tuple[Release, Dict[str, str]]]] = {
    MACHINE_MICRO: (
        (
            (2, 1, 0),
            {
                'vfio-pci': 'a micro VM hot-plugs only virtio-mmio disks and NICs',
                'vhost-user-blk-pci': 'a micro VM hot-plugs only virtio-mmio disks and NICs',
                'vhost-user-net': 'a micro VM hot-plugs only virtio-mmio disks and NICs',
            },
        ),
    ),
    MACHINE_STANDARD: (
        (
            (2, 1, 0),
            {
                'vfio-pci': 'hot-plug of a VFIO device is not supported by this collection (StratoVirt 2.1.0 has no sysfsdev and no chardev-add)',
                'vhost-user-blk-pci': 'StratoVirt 2.1.0 has no chardev-add, so a vhost-user backend cannot be hot-plugged',
                'vhost-user-net': 'StratoVirt 2.1.0 has no chardev-add, so a vhost-user backend cannot be hot-plugged',
            },
        ),
        (
            (2, 2, 0),
            {
                'vfio-pci': 'the default build of StratoVirt {release} refuses it (Failed to add device: Driver vfio-pci is not support)',
                'vhost-user-blk-pci': 'the default build of StratoVirt {release} refuses it (Failed to add device: Driver vhost-user-blk-pci is not support)',
                'vhost-user-net': 'the default build of StratoVirt {release} refuses it (Failed to add virtio pci net: Unsupported Vhostuser_net)',
            },
        ),
    ),
}

# The JSON type each release parses an option's value as: ((release introduced, type), ...), oldest first.
VALUE_TYPES: Dict[str, Sequence[Tuple[Release, str]]] = {
    'netdev_add vhost': (((2, 1, 0), 'string'), ((2, 3, 0), 'bool')),
    'netdev_add queues': (((2, 1, 0), 'string'), ((2, 2, 0), 'integer')),
}

# Replies by meaning, per machine type: ((release introduced, templates that release answers), ...), oldest first.
SHARED_FILE = 'Failed to add drive {any}file can only be shared with read_only{any}'
REPLIES: Dict[str, Dict[str, Sequence[Tuple[Release, Tuple[str, ...]]]]] = {
    MACHINE_MICRO: {
        # device_del of an id the VM does not have
        'absent': (((2, 1, 0), ('Device {id} not found',)),),
        # blockdev-add / netdev_add of an id (or a file) the VM already has
        'backend_present': (((2, 1, 0), ('{id} is already registered.', SHARED_FILE)),),
        # device_add into a slot some device holds
        'place_taken': (((2, 1, 0), ('The slot {slot} is occupied already.',)),),
        # device_add of an id already plugged: a micro VM does not tell
        'already_plugged': (((2, 1, 0), ()),),
        # a second device_del while an unplug is pending: a micro VM unplug is synchronous
        'unplug_busy': (((2, 1, 0), ()),),
        # device_del of a NIC: slot and config are freed, then the backend reset fails and keeps the tap
        'nic_unplug_defect': (((2, 1, 0), ()), ((2, 5, 0), ('{id}: failed to update config.',))),
        # blockdev-del / netdev_del: a micro VM has neither
        'backend_del_unsupported': (((2, 1, 0), ('blockdev_del not support yet', 'netdev_del not support yet')),),
        'backend_absent': (((2, 1, 0), ()),),
    },
    MACHINE_STANDARD: {
        'absent': (
            ((2, 1, 0), ('Failed to remove device: id {id} not found',)),
            # without an xHCI controller; with one
            ((2, 3, 0), ('Can not find parent device from pci bus', 'Failed to detach device: id {id} not found')),
        ),
        'backend_present': (((2, 1, 0), ('Drive {id} has been added', 'Netdev "{id}" has been added', SHARED_FILE)),),
        # an occupied root port, and an unknown bus, answer the same
        'place_taken': (((2, 1, 0), ('Failed to add virtio pci{any}',)),),
        'already_plugged': (((2, 1, 0), ('Device id {id} existed',)),),
        'unplug_busy': (((2, 1, 0), ()), ((2, 2, 0), ('Guest is still on the fly of another (un)plugging',))),
        'nic_unplug_defect': (((2, 1, 0), ()),),
        'backend_del_unsupported': (((2, 1, 0), ()),),
        'backend_absent': (((2, 1, 0), ('Drive {id} not found', 'Netdev {id} not found')),),
    },
}

_PLACEHOLDER = re.compile(r'\{(\w+)\}')


def has_behaviour(name: str, release: Release) -> bool:
    """Whether ``release`` shows behaviour ``name`` (a key of :data:`BEHAVIOURS`)."""
    return release >= BEHAVIOURS[name]


def option_since(option: str, machine: str) -> Optional[Release]:
    """The first release taking hot-plug option ``option`` (a key of :data:`OPTIONS_SINCE`) on that machine type, or None."""
    return OPTIONS_SINCE[option].get(machine)


def value_type(option: str, release: Release) -> str:
    """The JSON type ``release`` parses option ``option`` (a key of :data:`VALUE_TYPES`) as."""
    chosen = ''
    for since, kind in VALUE_TYPES[option]:
        if release >= since:
            chosen = kind
    return chosen


def templates(machine: str, meaning: str, release: Release) -> Tuple[str, ...]:
    """The reply templates of ``meaning`` (a key of :data:`REPLIES`) on that machine type and release."""
    chosen: Tuple[str, ...] = ()
    for since, texts in REPLIES[machine][meaning]:
        if release >= since:
            chosen = texts
    return chosen


def _newest(entries, release: Release):
    chosen = None
    for since, value in entries:
        if release >= since:
            chosen = value
    return chosen


def vcpu_hotplug_refusal(machine: str, release: Release) -> Optional[str]:
    """Why vCPU hot-plug must not be sent to that machine type and release (None: it works)."""
    text = _newest(VCPU_HOTPLUG[machine], release)
    return text.format(release='.'.join(str(part) for part in release), machine=machine) if text else None


def hotplug_refusals(machine: str, release: Release) -> Dict[str, str]:
    """The drivers that cannot be hot-plugged on that machine type and release, each with why."""
    texts = _newest(HOTPLUG_REFUSED_DRIVERS[machine], release) or {}
    shown = '.'.join(str(part) for part in release)
    return {driver: why.format(release=shown) for driver, why in texts.items()}


def _compile(template: str, fields: Dict[str, object]) -> 're.Pattern[str]':
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name = match.group(1)
        parts.append('.*' if name == 'any' else re.escape(str(fields[name])))
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile(''.join(parts), re.DOTALL)


def matches(machine: str, meaning: str, release: Release, desc: Optional[str], **fields: object) -> bool:
    """Whether ``desc`` is, exactly, one of the replies of ``meaning`` (with ``fields`` filled in)."""
    if desc is None:
        return False
    return any(_compile(template, fields).fullmatch(desc) for template in templates(machine, meaning, release))
