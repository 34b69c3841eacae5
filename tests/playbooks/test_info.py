# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: stratovirt_info before and after changes; it never sends anything that changes the VM."""

from __future__ import annotations

import os

import pytest

from conftest import READ_ONLY_QUERIES, received
from tested_releases import PROFILES

INFO = 'stratovirt.qmp.stratovirt_info'
DISK = 'stratovirt.qmp.stratovirt_disk'
READ_ONLY = READ_ONLY_QUERIES


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


# -- the VM's other resources ------------------------------------------------------------------------------------

NO_VCPU_HOTPLUG = 'StratoVirt {release} has no vCPU hot-plug on a {machine} VM'
VCPU_HOTPLUG_HANGS = 'vCPU hot-plug hangs a StratoVirt {release} {machine} VM for good'


@pytest.mark.parametrize('profile', ['2.1.0', '2.5.0'])
def test_micro_vm_resources_from_queries_and_command_line(profile, recorded_vm, playbook):
    smp = '1' if profile == '2.1.0' else 'cpus=1,maxcpus=4'  # 2.1.0 refuses maxcpus at launch
    balloon = 'virtio-balloon-device,deflate-on-oom=true' if profile == '2.1.0' else 'virtio-balloon-device,id=balloon0,deflate-on-oom=true'
    vm = recorded_vm(profile, cmdline=['-smp', smp, '-m', '256', '-object', 'iothread,id=iothread0', '-device', balloon])
    result = playbook([info_task(vm.socket_path)]).results[0]
    resources = result['resources']
    assert resources['vcpus'] == {
        'present': 1,
        'possible': 1 if profile == '2.1.0' else 4,
        'hotplug': NO_VCPU_HOTPLUG.format(release=profile, machine='micro'),
    }
    assert resources['memory'] == {'size': 256 << 20, 'balloon': 'virtio-balloon-device' if profile == '2.1.0' else 'balloon0', 'balloon_actual': 256 << 20}
    assert resources['iothreads'] == ['iothread0']
    assert [device['driver'] for device in resources['cold_plugged']] == ['virtio-balloon-device']
    assert only_read_only_sent(vm.socket_path)


@pytest.mark.parametrize('profile', ['2.1.0', '2.5.0'])
def test_standard_vm_resources_possible_vcpus_from_smp_and_no_balloon(profile, recorded_vm, playbook):
    vm = recorded_vm(
        profile,
        options=['--machine', 'q35'],
        cmdline=[
            '-smp', 'cpus=2,maxcpus=4', '-m', '1G',
            '-device', 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3',
            '-device', 'vfio-pci,id=vfio0,host=0000:03:00.0,bus=pcie.1,addr=0x0',
        ],
    )  # fmt: skip
    resources = playbook([info_task(vm.socket_path)]).results[0]['resources']
    refusal = (NO_VCPU_HOTPLUG if profile == '2.1.0' else VCPU_HOTPLUG_HANGS).format(release=profile, machine='standard')
    assert resources['vcpus']['present'] == 2 and resources['vcpus']['possible'] == 4  # q35: query-hotpluggable-cpus is {}
    assert resources['vcpus']['hotplug'].startswith(refusal)
    assert resources['memory'] == {'size': 1 << 30, 'balloon': 'no balloon device', 'balloon_actual': None}
    assert resources['iothreads'] == []
    assert resources['cold_plugged'] == [{'driver': 'vfio-pci', 'id': 'vfio0', 'host': '0000:03:00.0', 'bus': 'pcie.1', 'addr': '0x0'}]
    assert only_read_only_sent(vm.socket_path)
    assert not any('query-hotpluggable-cpus' in line for line in received(vm.socket_path)), 'q35 answers {}: not asked'
