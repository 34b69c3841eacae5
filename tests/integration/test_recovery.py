# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a run that died half-way, and a device the record lost, are repaired by the next run."""

from __future__ import annotations

import json
import os

import pytest

from conftest import mutating_received
from test_micro_modules import PROFILES, blockdev_add, device_del, disk_device_add, disk_task, may_fail


def record_of(socket_path):
    with open(os.path.realpath(socket_path) + '.devices.json', encoding='utf-8') as handle:
        return {entry['id']: entry for entry in json.load(handle)['devices']}


@pytest.mark.parametrize('profile', PROFILES)
def test_run_cut_between_blockdev_add_and_device_add_is_repaired(profile, recorded_vm, make_image, playbook):
    # The connection drops when device_add arrives (query-version and blockdev-add answered): the backend is
    # registered, the device is not plugged, and the run fails.
    vm = recorded_vm(profile, options=['--fault-drop-after', '2'])
    image = make_image('disk0.img')
    task = disk_task(vm.socket_path, 'drive-0', path=image, addr='0x1')
    cut = playbook([may_fail(task)]).results[0]
    assert cut['failed'] and 'closed by the peer' in cut['msg']
    assert [command['execute'] for command in cut['commands']] == ['blockdev-add', 'device_add']
    assert record_of(vm.socket_path)['drive-0']['state'] == 'plugging'

    again = playbook([task]).results[0]
    assert again['changed'] and 'interrupted while plugging' in json.dumps(again.get('warnings'))
    assert mutating_received(vm.socket_path) == [
        blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1'),
        device_del('drive-0'), blockdev_add(profile, 'drive-0', image), disk_device_add(profile, 'drive-0', '0x1')]
    assert record_of(vm.socket_path)['drive-0']['state'] == 'plugged'
    assert not playbook([task]).results[0]['changed']


@pytest.mark.parametrize('profile', PROFILES)
def test_absent_with_the_path_unplugs_a_device_the_record_lost(profile, recorded_vm, make_image, playbook):
    vm = recorded_vm(profile)
    image = make_image('disk0.img')
    assert playbook([disk_task(vm.socket_path, 'drive-0', path=image, addr='0x1')]).results[0]['changed']
    os.unlink(os.path.realpath(vm.socket_path) + '.devices.json')

    without_path = playbook([disk_task(vm.socket_path, 'drive-0', state='absent')]).results[0]
    assert not without_path['changed'], 'nothing tells that drive-0 is attached: nothing is sent'
    with_path = playbook([disk_task(vm.socket_path, 'drive-0', path=image, state='absent')]).results[0]
    assert with_path['changed']
    assert mutating_received(vm.socket_path)[-1] == device_del('drive-0')
    assert record_of(vm.socket_path) == {}
