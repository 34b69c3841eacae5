# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: the hot-plug options and guest_name through ansible-playbook, on simulated VMs of each machine type
and recorded release. The exact bytes the simulator received are compared; the breadth of options and refusals is in
tests/unit/plugins/module_utils/_device/kinds/test_disk.py and test__kind_nic.py."""

from __future__ import annotations

import struct

import pytest

from conftest import received
from test_micro_modules import disk_task, may_fail, nic_task
from tested_releases import EDGE_PROFILES as PROFILES, release

IOTHREAD = ['-object', 'iothread,id=io1']
ROOT_PORTS = ['-device', 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3']


def mutating(socket_path):
    return [line for line in received(socket_path) if '"query-version"' not in line and '"query-status"' not in line]


def file_args(profile, path):
    aio = ',"aio":"native"' if release(profile) >= (2, 3) else ''
    return '{"driver":"file","filename":"%s"%s}' % (path, aio)


def qcow2_image(tmp_path, name='data.qcow2'):
    path = tmp_path / name
    path.write_bytes((b'QFI\xfb' + struct.pack('>IQI', 3, 0, 0)).ljust(1024 * 1024, b'\0'))
    return str(path)


@pytest.mark.parametrize('profile', PROFILES)
def test_standard_vm_qcow2_disk_on_an_iothread_with_an_iops_limit(profile, recorded_vm, tmp_path, playbook):
    vm = recorded_vm(profile, options=['--machine', 'standard', '--guest', 'ack', '--guest-ack-delay', '0.2'], cmdline=ROOT_PORTS + IOTHREAD)
    image = qcow2_image(tmp_path)
    task = disk_task(vm.socket_path, 'data-1', path=image, format='qcow2', iothread='io1', iops=2000, discard='unmap', serial='data-1')
    if release(profile) < (2, 3):
        # No qcow2 before 2.3.0: StratoVirt would take driver=qcow2 and open the image raw.
        refused = playbook([may_fail(task)])
        assert refused.results[0]['failed'] and not refused.results[0]['changed']
        assert 'format=qcow2: a standard VM takes it from StratoVirt 2.3.0; this VM runs %s' % profile in refused.results[0]['msg']
        assert mutating(vm.socket_path) == [] and refused.results[0]['commands'] == []
        return
    first = playbook([task])
    assert first.rc == 0, first.stdout
    assert mutating(vm.socket_path) == [
        '{"execute":"blockdev-add","arguments":{"node-name":"data-1","file":%s,"cache":{"direct":true},"read-only":false,'
        '"driver":"qcow2","discard":"unmap","throttling.iops-total":2000}}\n' % file_args(profile, image),
        '{"execute":"device_add","arguments":{"id":"data-1","driver":"virtio-blk-pci","drive":"data-1","bus":"pcie.1",'
        '"addr":"0x0","serial":"data-1","iothread":"io1"}}\n',
    ]
    device = first.results[0]['device']
    assert (device['format'], device['iothread'], device['iops'], device['guest_name']) == ('qcow2', 'io1', 2000, '/dev/disk/by-id/virtio-data-1')
    sent = len(received(vm.socket_path))
    again = playbook([task])
    assert again.rc == 0 and not again.results[0]['changed'] and again.results[0]['commands'] == []
    changed = playbook([may_fail(dict(task, **{'stratovirt.qmp.stratovirt_disk': dict(task['stratovirt.qmp.stratovirt_disk'], iops=1000)}))])
    assert changed.results[0]['failed'] and "iops: 2000 -> 1000" in changed.results[0]['msg']
    assert len(received(vm.socket_path)) == sent + 2  # query-version of each run, nothing else


@pytest.mark.parametrize('profile', PROFILES)
def test_micro_vm_boot_index_and_iothread_or_their_refusal(profile, recorded_vm, make_image, host_tap, playbook):
    vm = recorded_vm(profile, cmdline=IOTHREAD)
    image, tap = make_image('d.img'), host_tap()
    run = playbook(
        [
            may_fail(disk_task(vm.socket_path, 'drive-0', path=image, addr='0x1', boot_index=1, iothread='io1')),
            may_fail(nic_task(vm.socket_path, 'net-0', ifname=tap, iothread='io1')),
        ]
    )
    disk, nic = run.results
    if release(profile) >= (2, 5):
        assert not disk.get('failed') and not nic.get('failed'), run.stdout
        assert mutating(vm.socket_path) == [
            '{"execute":"blockdev-add","arguments":{"node-name":"drive-0","file":%s,"cache":{"direct":true},"read-only":false}}\n' % file_args(profile, image),
            '{"execute":"device_add","arguments":{"id":"drive-0","driver":"virtio-blk-mmio","addr":"0x1","drive":"drive-0","iothread":"io1","boot_index":1}}\n',
            '{"execute":"netdev_add","arguments":{"id":"net-0","ifname":"%s"}}\n' % tap,
            '{"execute":"device_add","arguments":{"id":"net-0","driver":"virtio-net-mmio","addr":"0x0","chardev":"net-0","iothread":"io1"}}\n',
        ]
        assert (disk['device']['guest_name'], nic['device']['guest_name']) == ('vdb', 'eth0')
    else:
        assert disk['failed'] and nic['failed']
        assert disk['msg'] == (
            'VM %s: disk drive-0: iothread: a micro VM takes it from StratoVirt 2.5.0; this VM runs 2.1.0: leave iothread unset' % vm.socket_path
        )
        assert nic['msg'] == (
            'VM %s: NIC net-0: iothread: a micro VM takes it from StratoVirt 2.5.0; this VM runs 2.1.0: leave iothread unset' % vm.socket_path
        )
        assert mutating(vm.socket_path) == []


@pytest.mark.parametrize('machine', ['micro', 'standard'])
def test_a_qcow2_image_declared_raw_sends_nothing(machine, recorded_vm, tmp_path, playbook):
    options = ['--machine', 'standard'] if machine == 'standard' else []
    vm = recorded_vm('2.5.0', options=options, cmdline=ROOT_PORTS if machine == 'standard' else None)
    image = qcow2_image(tmp_path)
    run = playbook([may_fail(disk_task(vm.socket_path, 'drive-0', path=image))])
    assert run.results[0]['failed']
    assert run.results[0]['msg'].startswith(
        'VM %s: image %s of disk drive-0 is a qcow2 image (its header says so), but the disk is declared raw (format unset means raw)' % (vm.socket_path, image)
    )
    assert received(vm.socket_path) == []  # refused on the host, before connecting
