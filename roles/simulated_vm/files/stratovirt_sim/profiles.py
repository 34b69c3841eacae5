# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What differs between the StratoVirt releases the simulator plays.

Sources: 2.1.0 from the recording of a real 2.1.0 micro VM (tests/fixtures/transcripts);
2.5.0 from the 2.5.0 recordings where they speak, else from docs/stratovirt-qmp.md
(sections 2, 3 and 7, read from the 2.5.0 source); 2.2.0, 2.3.0 and 2.4.0 from their recordings
(the 2.5.0 recordings' steps replayed on the real binaries) and the probe's table (docs/stratovirt-qmp.md
section 14). What neither measured on a middle release is marked "not measured" and follows its neighbour.
"""

from __future__ import annotations

from typing import NamedTuple

from .schemas import COMMANDS


class Profile(NamedTuple):
    release: str
    greeting_package: str
    serde_error_ending: bytes
    event_before_reply: bool
    addr_parse_strict: bool  # 2.2.0+: "0x" hex else decimal, bad -> error; before: hex, bad -> slot 0
    opens_image_at_blockdev_add: bool  # 2.2.0+; before, at device_add
    has_aio_rule: bool  # 2.3.0+: direct needs file.aio
    needs_drive_chardev: bool  # 2.5.0+
    type_mismatch_panics: bool  # 2.1.0 unwraps a missing config of the other type
    nic_unplug_keeps_tap: bool  # 2.5.0 defect: device_del of a NIC fails and keeps the tap
    netdev_add_probes_tap: bool
    status_running_when_paused: bool  # 2.1.0 says running:true while paused
    too_long: str
    max_blk: str
    max_net: str
    max_configs: str
    missing_file: str
    not_regular_file: str


PROFILES = {
    '2.1.0': Profile(
        release='2.1.0',
        greeting_package='',
        serde_error_ending=b'\n',
        event_before_reply=True,
        addr_parse_strict=False,
        opens_image_at_blockdev_add=False,
        has_aio_rule=False,
        needs_drive_chardev=False,
        type_mismatch_panics=True,
        nic_unplug_keeps_tap=False,
        netdev_add_probes_tap=False,
        status_running_when_paused=True,
        too_long='The socket messege is too long.',
        max_blk='A maximum of 4 block replaceable devices are supported.',
        max_net='A maximum of 2 net replaceable devices are supported.',
        max_configs='A maximum of 6  replaceable devices are supported.',
        missing_file='No such file or directory (os error 2)',
        not_regular_file='File is not a regular file or block device',
    ),
    '2.5.0': Profile(
        release='2.5.0',
        greeting_package='StratoVirt-2.5.0',
        serde_error_ending=b'\r\n',
        event_before_reply=False,
        addr_parse_strict=True,
        opens_image_at_blockdev_add=True,
        has_aio_rule=True,
        needs_drive_chardev=True,
        type_mismatch_panics=False,
        nic_unplug_keeps_tap=True,
        netdev_add_probes_tap=True,
        status_running_when_paused=False,
        too_long='The socket message is too long.',
        max_blk='A maximum of block 4 replaceable devices are supported.',
        max_net='A maximum of net 2 replaceable devices are supported.',
        max_configs='A maximum of  6 replaceable devices are supported.',
        missing_file='Failed to get metadata of file {path}: No such file or directory (os error 2).',
        not_regular_file='{path} is not a regular file or block device.',
    ),
}
# Measured on 2.2.0: the greeting's package is still empty, events still come before the reply, serde's errors
# still end in a bare \n, images are opened at blockdev-add, addr parses strictly, and a NIC unplug frees its tap.
# Not measured (no step of the recordings reaches them): the slot-limit and too-long texts (2.5.0's taken),
# type_mismatch_panics, status_running_when_paused and netdev_add_probes_tap (2.5.0's taken).
PROFILES['2.2.0'] = PROFILES['2.5.0']._replace(
    release='2.2.0',
    greeting_package='',
    serde_error_ending=b'\n',
    event_before_reply=True,
    has_aio_rule=False,
    needs_drive_chardev=False,
    nic_unplug_keeps_tap=False,
    netdev_add_probes_tap=False,
)
# 2.3.0 adds file.aio and its rule (direct needs a native or io_uring aio), names itself in the greeting and ends
# serde's errors in \r\n.
PROFILES['2.3.0'] = PROFILES['2.2.0']._replace(release='2.3.0', greeting_package='StratoVirt-2.3.0', serde_error_ending=b'\r\n', has_aio_rule=True)
PROFILES['2.4.0'] = PROFILES['2.3.0']._replace(release='2.4.0', greeting_package='StratoVirt-2.4.0')

COMMANDS_2_1_0 = (
    'qmp_capabilities quit stop cont device_add device_del netdev_add netdev_del query-hotpluggable-cpus query-cpus '
    'query_status getfd blockdev_add blockdev_del balloon query_balloon migrate query_migrate query_version '
    'query_commands query_target query_kvm query_machines query-events list_type device_list_properties block-commit '
    'query_tpm_models query_tpm_types query_command_line_options query_migrate_capabilities query_qmp_schema '
    'query_sev_capabilities query-chardev qom-list qom_get query-block query-named-block-nodes query-blockstats '
    'query-gic-capabilities query-iothreads'
).split()

COMMANDS_2_5_0 = COMMANDS['2.5.0']

EVENTS = {
    '2.1.0': ['Shutdown', 'Reset', 'Stop', 'Resume', 'DeviceDeleted', 'BalloonChanged'],
    '2.5.0': [
        'SHUTDOWN',
        'RESET',
        'STOP',
        'RESUME',
        'POWERDOWN',
        'CPU_RESIZE',
        'DEVICE_DELETED',
        'BALLOON_CHANGED',
        'USB_HOST_ADD_RES',
        'AUDIO_CHANGED',
        'VM_NOTIFY_EVENT',
    ],
}
# Not measured on the middle releases (query-events is in no recording of theirs): 2.5.0's names.
EVENTS.update({release: EVENTS['2.5.0'] for release in ('2.2.0', '2.3.0', '2.4.0')})

MACHINES = [{'cpu-max': 255, 'deprecated': False, 'hotpluggable-cpus': False, 'name': name, 'numa-mem-supported': False} for name in ('none', 'microvm', 'q35')]


def static_replies(profile: Profile, thread_id: int) -> dict:
    """Replies of the read-only commands whose answer does not depend on devices (the stubs included)."""
    cpu_props = {'core-id': 0, 'socket-id': 0, 'thread-id': 0}
    names = COMMANDS_2_1_0 if profile.release == '2.1.0' else COMMANDS[profile.release]
    return {
        'query-version': {'package': 'StratoVirt-%s' % profile.release, 'qemu': {'major': 5, 'micro': 1, 'minor': 0}},
        'query-commands': [{'name': name} for name in names],
        'query-events': [{'name': name} for name in EVENTS[profile.release]],
        'query-target': {'arch': 'x86_64'},
        'query-kvm': {'enabled': True, 'present': True},
        'query-machines': MACHINES,
        'query-iothreads': [],
        'query-migrate': {'status': 'setup'},
        'query-cpus': [
            {'CPU': 0, 'arch': 'x86', 'current': True, 'halted': False, 'props': cpu_props, 'qom_path': '/machine/unattached/device[0]', 'thread_id': thread_id}
        ],
        'query-hotpluggable-cpus': [{'props': cpu_props, 'qom-path': '/machine/unattached/device[0]', 'type': 'host-x86-cpu', 'vcpus-count': 1}],
        # StratoVirt cannot report its devices: these are hard-coded stubs on every release.
        'query-block': [],
        'query-named-block-nodes': [],
        'query-blockstats': [],
        'qom-list': [],
        'qom-get': [],
        'qom_get': [],
        'query-chardev': [],
    }


class StandardTraits(NamedTuple):
    """What differs between releases on a standard (q35, PCIe) VM; sources in docs/simulator.md."""

    blk_add_failed: str  # reason after "Failed to add virtio pci blk: " (unknown bus, used devfn, no image)
    net_add_failed: str  # same for "Failed to add virtio pci net: " (also: tap held elsewhere)
    drive_missing: str
    netdev_missing: str  # {id} is the netdev asked for
    unknown_device_del: str  # {id} is the device asked for
    missing_image: str  # {path}; blockdev-add of a path that does not exist
    not_regular_image: str  # {path}; a directory or other non-file
    keeps_failed_plug: bool  # 2.1.0: a device whose plug failed stays on the bus (the pcie.0 zombie)
    checks_devfn_on_plug: bool  # 2.5.0: hot-plug at devfn != 0 of a root port is refused
    deadlocks_on_devfn_unplug: bool  # 2.1.0: device_del at devfn != 0 of a root port locks the main thread for good
    checks_blinking_indicator: bool  # 2.2.0+: "still on the fly" while the guest blinks the power indicator


STANDARD_TRAITS = {
    '2.1.0': StandardTraits(
        blk_add_failed='Failed to add virtio pci block device',
        net_add_failed='Failed to add virtio net device',
        drive_missing='Drive not found',
        netdev_missing='Netdev not found',
        unknown_device_del='Failed to remove device: id {id} not found',
        missing_image='Drive File is not a regular File.',
        not_regular_image='Drive File is not a regular File.',
        keeps_failed_plug=True,
        checks_devfn_on_plug=False,
        deadlocks_on_devfn_unplug=True,
        checks_blinking_indicator=False,
    ),
    '2.5.0': StandardTraits(
        blk_add_failed='Failed to add virtio pci device',
        net_add_failed='Failed to add virtio pci device',
        drive_missing='No drive configured matched for blk device',
        netdev_missing='Netdev: "{id}" not found for net device',
        unknown_device_del='Can not find parent device from pci bus',
        missing_image=PROFILES['2.5.0'].missing_file,
        not_regular_image=PROFILES['2.5.0'].not_regular_file,
        keeps_failed_plug=False,
        checks_devfn_on_plug=True,
        deadlocks_on_devfn_unplug=False,
        checks_blinking_indicator=True,
    ),
}
# 2.2.0, measured (its standard recording): 2.1.0's reply texts, 2.5.0's plug rules (a failed plug leaves nothing,
# a hot-plug at devfn != 0 of a root port is refused, a device cold-plugged there unplugs without a deadlock), and
# 2.5.0's texts for an image that is missing or not a file (the probe). The blinking check is from the source
# reading: OVMF never blinks, so no recording shows it before 2.5.0.
STANDARD_TRAITS['2.2.0'] = STANDARD_TRAITS['2.1.0']._replace(
    missing_image=PROFILES['2.2.0'].missing_file,
    not_regular_image=PROFILES['2.2.0'].not_regular_file,
    keeps_failed_plug=False,
    checks_devfn_on_plug=True,
    deadlocks_on_devfn_unplug=False,
    checks_blinking_indicator=True,
)
# 2.3.0, measured: a device_del of an unknown id answers as 2.5.0 does; the plug failures keep 2.1.0's texts.
STANDARD_TRAITS['2.3.0'] = STANDARD_TRAITS['2.2.0']._replace(unknown_device_del=STANDARD_TRAITS['2.5.0'].unknown_device_del)
# 2.4.0, measured: every standard reply text of the recordings is 2.5.0's (the plug failures, the missing drive).
# Not measured: the missing netdev's text, taken as 2.5.0's.
STANDARD_TRAITS['2.4.0'] = STANDARD_TRAITS['2.5.0']
