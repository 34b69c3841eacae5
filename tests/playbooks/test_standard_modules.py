# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: stratovirt_disk / stratovirt_nic / stratovirt_info on simulated standard (PCIe) VMs."""

from __future__ import annotations

import json
import os
import time

import pytest

from conftest import mutating_received
from tested_releases import EDGE_PROFILES as PROFILES, release
from test_micro_modules import may_fail

DISK = 'stratovirt.qmp.stratovirt_disk'
NIC = 'stratovirt.qmp.stratovirt_nic'
INFO = 'stratovirt.qmp.stratovirt_info'
ROOT_PORTS = ['-device', 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3', '-device', 'pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x4']


def standard_vm(recorded_vm, profile, guest='ack', delay=0.2, options=()):
    return recorded_vm(profile, options=['--machine', 'standard', '--guest', guest, '--guest-ack-delay', str(delay)] + list(options), cmdline=ROOT_PORTS)


def blockdev_add(profile, node, path):
    aio = ',"aio":"native"' if release(profile) >= (2, 3) else ''
    return (
        '{"execute":"blockdev-add","arguments":{"node-name":"%s","file":{"driver":"file","filename":"%s"%s},'
        '"cache":{"direct":true},"read-only":false}}\n' % (node, path, aio)
    )


def pci_disk_add(device_id, bus):
    return '{"execute":"device_add","arguments":{"id":"%s","driver":"virtio-blk-pci","drive":"%s","bus":"%s","addr":"0x0"}}\n' % (device_id, device_id, bus)


def device_del(device_id):
    return '{"execute":"device_del","arguments":{"id":"%s"}}\n' % device_id


def blockdev_del(node):
    return '{"execute":"blockdev-del","arguments":{"node-name":"%s"}}\n' % node


def disk(socket_path, device_id, **options):
    return {'name': 'disk %s' % device_id, DISK: dict({'socket': socket_path, 'id': device_id}, **options)}


def record_state(socket_path, device_id):
    with open(os.path.realpath(socket_path) + '.devices.json', encoding='utf-8') as handle:
        entries = {entry['id']: entry for entry in json.load(handle)['devices']}
    return entries.get(device_id, {}).get('state')


@pytest.mark.parametrize('profile', PROFILES)
def test_plug_rerun_and_unplug_acknowledged_by_the_guest(profile, recorded_vm, make_image, host_tap, playbook):
    vm = standard_vm(recorded_vm, profile)
    image, tap = make_image('disk0.img'), host_tap()
    present = [disk(vm.socket_path, 'drive-0', path=image), {NIC: {'socket': vm.socket_path, 'id': 'net-0', 'ifname': tap, 'mac': '52:54:00:12:34:56'}}]
    first = playbook(present)
    assert first.rc == 0, first.stdout
    assert [result['device']['bus'] for result in first.results] == ['pcie.1', 'pcie.2']
    assert first.results[0]['stratovirt']['machine'] == 'standard'
    assert mutating_received(vm.socket_path) == [
        blockdev_add(profile, 'drive-0', image),
        pci_disk_add('drive-0', 'pcie.1'),
        '{"execute":"netdev_add","arguments":{"id":"net-0","ifname":"%s"}}\n' % tap,
        '{"execute":"device_add","arguments":{"id":"net-0","driver":"virtio-net-pci","netdev":"net-0","bus":"pcie.2",'
        '"addr":"0x0","mac":"52:54:00:12:34:56"}}\n',
    ]
    again = playbook(present, check=True)
    assert [result['changed'] for result in again.results] == [False, False]

    gone = playbook([disk(vm.socket_path, 'drive-0', state='absent')]).results[0]
    assert gone['changed'] and gone['device'] is None
    assert mutating_received(vm.socket_path)[-2:] == [device_del('drive-0'), blockdev_del('drive-0')]
    assert record_state(vm.socket_path, 'drive-0') is None


@pytest.mark.parametrize('profile', PROFILES)
def test_unplug_timeout_is_pending_and_a_later_run_completes_it(profile, recorded_vm, make_image, playbook):
    # The guest takes 3 s; the first run waits 1 s and leaves. The event then comes while nobody listens (lost).
    vm = standard_vm(recorded_vm, profile, delay=3.0)
    image = make_image('disk0.img')
    assert playbook([disk(vm.socket_path, 'drive-0', path=image)]).rc == 0
    timed_out = playbook([may_fail(disk(vm.socket_path, 'drive-0', state='absent', wait_timeout=1))]).results[0]
    assert timed_out['failed'] and timed_out['changed']
    assert 'the unplug is pending in the guest' in timed_out['msg']
    assert record_state(vm.socket_path, 'drive-0') == 'unplug-pending'
    info = playbook([{INFO: {'socket': vm.socket_path}}]).results[0]
    assert [device.get('unplug_pending') for device in info['devices']] == [True]

    time.sleep(3.0)
    finished = playbook([disk(vm.socket_path, 'drive-0', state='absent')]).results[0]
    assert finished['changed'] and finished['device'] is None
    sent = mutating_received(vm.socket_path)
    if release(profile) < (2, 5):
        # No busy check on 2.1.0: a second press could cancel a Linux guest's unplug, so nothing is pressed again.
        assert sent[-3:] == [pci_disk_add('drive-0', 'pcie.1'), device_del('drive-0'), blockdev_del('drive-0')]
    else:
        assert sent[-3:] == [device_del('drive-0'), device_del('drive-0'), blockdev_del('drive-0')]
    assert record_state(vm.socket_path, 'drive-0') is None


def test_blinking_guest_keeps_the_unplug_pending_without_a_second_press(recorded_vm, make_image, playbook):
    vm = standard_vm(recorded_vm, '2.5.0', guest='blink')
    image = make_image('disk0.img')
    assert playbook([disk(vm.socket_path, 'drive-0', path=image)]).rc == 0
    first = playbook([may_fail(disk(vm.socket_path, 'drive-0', state='absent', wait_timeout=0.5))]).results[0]
    assert first['failed'] and 'pending in the guest' in first['msg']
    second = playbook([may_fail(disk(vm.socket_path, 'drive-0', state='absent', wait_timeout=0.5))]).results[0]
    assert second['failed'] and 'pending in the guest' in second['msg']
    assert not second['changed'], 'StratoVirt refused the second device_del (still on the fly): nothing changed'
    assert record_state(vm.socket_path, 'drive-0') == 'unplug-pending'


@pytest.mark.parametrize('profile', PROFILES)
def test_failed_device_add_deletes_only_its_backend(profile, recorded_vm, make_image, playbook):
    vm = standard_vm(recorded_vm, profile, options=['--fault-fail', 'device_add'])
    image = make_image('disk0.img')
    result = playbook([may_fail(disk(vm.socket_path, 'drive-0', path=image))]).results[0]
    assert result['failed'] and 'rolled back with blockdev-del' in result['msg']
    assert result['device'] is None
    assert mutating_received(vm.socket_path) == [blockdev_add(profile, 'drive-0', image), pci_disk_add('drive-0', 'pcie.1'), blockdev_del('drive-0')]


@pytest.mark.parametrize(
    'task,message',
    [
        ({'bus': 'pcie.0'}, 'bus pcie.0 of disk drive-0 is not a pcie-root-port of this VM'),
        ({'addr': '0x1'}, 'at addr 0x0 of a pcie-root-port only'),
        ({'bus': 'pcie.9'}, 'its root ports: pcie.1, pcie.2'),
    ],
)
def test_refused_places_send_nothing(task, message, recorded_vm, make_image, playbook):
    vm = standard_vm(recorded_vm, '2.1.0')
    result = playbook([may_fail(disk(vm.socket_path, 'drive-0', path=make_image('disk0.img'), **task))]).results[0]
    assert result['failed'] and message in result['msg']
    assert mutating_received(vm.socket_path) == []


@pytest.mark.parametrize('profile', PROFILES)
def test_info_on_a_standard_vm(profile, recorded_vm, make_image, playbook):
    vm = standard_vm(recorded_vm, profile)
    run = playbook([{INFO: {'socket': vm.socket_path}}, disk(vm.socket_path, 'drive-0', path=make_image('disk0.img')), {INFO: {'socket': vm.socket_path}}])
    before, after = run.results[0], run.results[2]
    assert before['free'] == {'root_ports': ['pcie.1', 'pcie.2']} and before['devices'] == []
    assert after['free'] == {'root_ports': ['pcie.2']}
    assert [(device['id'], device['bus'], device['addr']) for device in after['devices']] == [('drive-0', 'pcie.1', '0x0')]
    assert after['stratovirt']['machine'] == 'standard' and after['mismatches'] == []


def test_25_nic_unplug_keeps_the_tap_which_is_then_refused(recorded_vm, host_tap, playbook):
    vm = standard_vm(recorded_vm, '2.5.0')
    tap = host_tap()
    nic = {NIC: {'socket': vm.socket_path, 'id': 'net-0', 'ifname': tap}}
    run = playbook(
        [nic, {NIC: {'socket': vm.socket_path, 'id': 'net-0', 'state': 'absent'}}, may_fail({NIC: {'socket': vm.socket_path, 'id': 'net-1', 'ifname': tap}})]
    )
    unplugged, again = run.results[1], run.results[2]
    assert unplugged['changed'] and 'keeps its tap %s open' % tap in json.dumps(unplugged.get('warnings'))
    assert mutating_received(vm.socket_path)[-2:] == [
        '{"execute":"device_del","arguments":{"id":"net-0"}}\n',
        '{"execute":"netdev_del","arguments":{"id":"net-0"}}\n',
    ]
    assert again['failed'] and 'is still held by this VM after NIC net-0 was unplugged' in again['msg']
    assert len(mutating_received(vm.socket_path)) == 4, 'the refused plug sent nothing'
