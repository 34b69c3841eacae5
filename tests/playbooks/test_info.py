# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: stratovirt_info before and after changes; it never sends anything that changes the VM."""

from __future__ import annotations

import os

import pytest

from conftest import received
from tested_releases import PROFILES

INFO = 'stratovirt.qmp.stratovirt_info'
DISK = 'stratovirt.qmp.stratovirt_disk'
READ_ONLY = ('query-version', 'query-status')


def info_task(socket_path):
    return {'name': 'info', INFO: {'socket': socket_path}}


def only_read_only_sent(socket_path):
    return all(any('"%s"' % name in line for name in READ_ONLY) for line in received(socket_path))


@pytest.mark.parametrize('profile', PROFILES)
def test_micro_vm_info_before_and_after(profile, recorded_vm, make_image, playbook):
    rootfs = make_image('rootfs.img')
    vm = recorded_vm(profile, cmdline=['-drive', 'file=%s,id=rootfs,readonly=off,direct=off' % rootfs, '-device', 'virtio-blk-device,drive=rootfs,id=rootfs'])
    before = playbook([info_task(vm.socket_path)], check=True).results[0]
    assert not before['changed']
    assert before['stratovirt'] == {'release': profile, 'machine': 'micro', 'pid': vm.pid}
    assert before['status']['status'] == 'running'
    assert [(device['id'], device['source'], device['addr']) for device in before['devices']] == [('rootfs', 'cold-plugged', '0x0')]
    assert before['free'] == {'disk_slots': ['0x1', '0x2', '0x3'], 'nic_slots': ['0x0', '0x1'], 'backends': 5}
    assert before['mismatches'] == []
    assert only_read_only_sent(vm.socket_path)

    image = make_image('disk0.img')
    run = playbook([{DISK: {'socket': vm.socket_path, 'id': 'drive-0', 'path': image}}, info_task(vm.socket_path)])
    after = run.results[1]
    assert [(device['id'], device['source'], device['addr']) for device in after['devices']] == [
        ('rootfs', 'cold-plugged', '0x0'),
        ('drive-0', 'record', '0x1'),
    ]
    assert after['free']['disk_slots'] == ['0x2', '0x3'] and after['free']['backends'] == 4

    os.unlink(os.path.realpath(vm.socket_path) + '.devices.json')
    lost = playbook([info_task(vm.socket_path)]).results[0]
    assert [device['id'] for device in lost['devices']] == ['rootfs']
    assert any(image in mismatch and 'no known device uses it' in mismatch for mismatch in lost['mismatches']), lost['mismatches']
    assert not os.path.exists(os.path.realpath(vm.socket_path) + '.devices.json'), 'info writes nothing'
