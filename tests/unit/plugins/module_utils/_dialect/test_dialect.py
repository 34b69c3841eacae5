# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release and machine detection, and the exact commands each release is sent."""

from __future__ import annotations

import json

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.client import QMPClient, encode_command
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.errors import QMPCommandError
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import (
    MACHINE_MICRO,
    MACHINE_STANDARD,
    Dialect,
    DialectError,
    NotStratoVirtError,
    check_greeting,
    detect,
    parse_release,
    probe_machine,
)
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import held_taps
from tested_releases import PROFILES, release

V21 = Dialect((2, 1, 0), MACHINE_MICRO)
V25 = Dialect((2, 5, 0), MACHINE_MICRO)


class Answering:
    """A client stand-in that answers each command from a table: a value, or an error desc."""

    def __init__(self, answers):
        self.answers = answers
        self.sent = []

    def execute(self, name, arguments=None):
        self.sent.append((name, arguments))
        answer = self.answers[name]
        if isinstance(answer, Exception):
            raise answer
        return answer


def error(name, desc):
    return QMPCommandError('GenericError', desc, {'execute': name})


@pytest.mark.parametrize('profile', PROFILES)
def test_detect_on_simulated_micro_vms(start_vm, profile):
    vm = start_vm(profile)
    with QMPClient(vm.socket_path, timeout=5) as client:
        dialect = detect(client)
        assert client.sent[-1] == {'execute': 'blockdev-del', 'arguments': {'node-name': 'stratovirt-qmp-machine-probe'}}
    assert dialect == Dialect(release(profile), MACHINE_MICRO)


def test_standard_vm_answer_of_the_probe():
    client = Answering({'blockdev-del': error('blockdev-del', 'Drive stratovirt-qmp-machine-probe not found')})
    assert probe_machine(client) == MACHINE_STANDARD


def test_given_machine_skips_the_probe():
    client = Answering({'query-version': {'package': 'StratoVirt-2.5.0', 'qemu': {'major': 5, 'micro': 1, 'minor': 0}}})
    assert detect(client, MACHINE_STANDARD) == Dialect((2, 5, 0), MACHINE_STANDARD)
    assert [name for name, dummy in client.sent] == ['query-version']


@pytest.mark.parametrize(
    'answers,match',
    [
        ({'query-version': {'package': 'Debian 1:7.2+dfsg', 'qemu': {}}}, 'not StratoVirt'),
        ({'query-version': {'package': 'StratoVirt-2.0.0'}}, 'older than 2.1.0'),
        ({'query-version': error('query-version', 'unknown variant `query-version`')}, 'before 2.0'),
        ({'query-version': {'package': 'StratoVirt-2.1.0'}, 'blockdev-del': {}}, 'succeeded'),
        ({'query-version': {'package': 'StratoVirt-2.1.0'}, 'blockdev-del': error('blockdev-del', 'Node x is in use')}, 'cannot tell the machine type'),
    ],
)
def test_refused_monitors(answers, match):
    with pytest.raises(DialectError, match=match):
        detect(Answering(answers))


def test_parse_release():
    assert parse_release('StratoVirt-2.5.0') == (2, 5, 0)
    with pytest.raises(DialectError):
        parse_release('')


def bytes_of(name, arguments):
    return encode_command({'execute': name, 'arguments': arguments})


def test_21_commands_are_the_operators_guide_commands():
    assert bytes_of('blockdev-add', V21.disk_backend('drive-0', '/path/to/block', False, True, None)) == (
        b'{"execute":"blockdev-add","arguments":{"node-name":"drive-0","file":{"driver":"file",'
        b'"filename":"/path/to/block"},"cache":{"direct":true},"read-only":false}}\n'
    )
    assert bytes_of('device_add', V21.micro_disk_device('drive-0', 1, serial='s')) == (
        b'{"execute":"device_add","arguments":{"id":"drive-0","driver":"virtio-blk-mmio","addr":"0x1"}}\n'
    )
    assert bytes_of('netdev_add', V21.nic_backend('net-0', 'tap0')) == (b'{"execute":"netdev_add","arguments":{"id":"net-0","ifname":"tap0"}}\n')
    assert bytes_of('device_add', V21.micro_nic_device('net-0', 0, mac='52:54:00:12:34:56')) == (
        b'{"execute":"device_add","arguments":{"id":"net-0","driver":"virtio-net-mmio","addr":"0x0"}}\n'
    )


def test_25_commands_follow_the_25_recording():
    assert bytes_of('blockdev-add', V25.disk_backend('drive-2', '/srv/vm/disk2.img', False, True, None)) == (
        b'{"execute":"blockdev-add","arguments":{"node-name":"drive-2","file":{"driver":"file",'
        b'"filename":"/srv/vm/disk2.img","aio":"native"},"cache":{"direct":true},"read-only":false}}\n'
    )
    assert V25.disk_backend('d', '/i', False, False, None)['file'] == {'driver': 'file', 'filename': '/i'}
    assert bytes_of('device_add', V25.micro_disk_device('drive-0', 1)) == (
        b'{"execute":"device_add","arguments":{"id":"drive-0","driver":"virtio-blk-mmio","addr":"0x1","drive":"drive-0"}}\n'
    )
    assert bytes_of('device_add', V25.micro_nic_device('net-0', 0, mac='52:54:00:12:34:56')) == (
        b'{"execute":"device_add","arguments":{"id":"net-0","driver":"virtio-net-mmio","addr":"0x0","chardev":"net-0","mac":"52:54:00:12:34:56"}}\n'
    )


@pytest.mark.parametrize('profile', PROFILES)
@pytest.mark.parametrize('direct', [True, False])
def test_built_commands_plug_and_unplug_on_the_simulator(start_vm, make_image, host_tap, profile, direct):
    vm = start_vm(profile)
    image, tap = make_image(), host_tap()
    with QMPClient(vm.socket_path, timeout=5) as client:
        dialect = detect(client)
        client.execute('blockdev-add', dialect.disk_backend('drive-0', image, False, direct, None))
        client.execute('device_add', dialect.micro_disk_device('drive-0', 3, serial='disk-serial'))
        client.execute('netdev_add', dialect.nic_backend('net-0', tap))
        client.execute('device_add', dialect.micro_nic_device('net-0', 1, mac='52:54:00:12:34:56'))
        client.execute('device_del', {'id': 'drive-0'})
        assert client.wait_event('DEVICE_DELETED', 'drive-0')['data']['path'] == 'drive-0'
        # What the dialect claims of a NIC unplug, checked against what the VM does: 2.5.0 refuses it and keeps the tap.
        try:
            client.execute('device_del', {'id': 'net-0'})
            client.wait_event('DEVICE_DELETED', 'net-0')
        except QMPCommandError:
            pass
        assert (tap in held_taps(vm.pid)) == dialect.nic_unplug_keeps_tap == (release(profile) >= (2, 5))
    assert json.dumps(client.sent).count('device_add') == 2


STRATOVIRT_VERSION = {'qemu': {'micro': 1, 'minor': 0, 'major': 5}}


@pytest.mark.parametrize(
    'greeting,stratovirt',
    [
        ({'version': dict(STRATOVIRT_VERSION, package=''), 'capabilities': []}, True),  # 2.0.0-2.2.0
        ({'version': dict(STRATOVIRT_VERSION, package='StratoVirt-2.5.0'), 'capabilities': []}, True),
        ({'version': {'qemu': {'micro': 22, 'minor': 2, 'major': 7}, 'package': 'Debian 1:7.2+dfsg-7'}, 'capabilities': ['oob']}, False),
        ({'version': dict(STRATOVIRT_VERSION, package=''), 'capabilities': ['oob']}, False),  # a QEMU 5.0.1 built from source
        ({'version': dict(STRATOVIRT_VERSION, package='qemu-5.0.1'), 'capabilities': []}, False),
        ({'version': {'qemu': {'micro': 0, 'minor': 3, 'major': 4}, 'package': ''}, 'capabilities': []}, False),  # StratoVirt 0.x
    ],
)
def test_the_greeting_tells_stratovirt_from_qemu_and_others(greeting, stratovirt):
    if stratovirt:
        check_greeting(greeting)
    else:
        with pytest.raises(NotStratoVirtError, match='is not StratoVirt'):
            check_greeting(greeting)
