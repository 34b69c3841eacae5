# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: a VM's declared balloon target and vCPU count in stratovirt_devices and stratovirt_vms, on both
recorded releases and machine types: the plug of a target, an unchanged re-run, check mode and diff, and every refusal
before anything is sent."""

from __future__ import annotations

import json

import pytest

from conftest import received

DEVICES = 'stratovirt.qmp.stratovirt_devices'
VMS = 'stratovirt.qmp.stratovirt_vms'
CASES = [('2.1.0', 'microvm'), ('2.1.0', 'q35'), ('2.5.0', 'microvm'), ('2.5.0', 'q35')]
MUTATING = ('balloon', 'device_add', 'device_del', 'blockdev-add', 'netdev_add')


def executed(socket_path):
    return [json.loads(text)['execute'] for text in received(socket_path)]


def balloon_vm(recorded_vm, profile, machine, guest='active', balloon=True, extra=()):
    driver = 'virtio-balloon-device' if machine == 'microvm' else 'virtio-balloon-pci'
    cmdline = ['-m', '512'] + (['-device', '%s,id=balloon0' % driver] if balloon else []) + list(extra)
    return recorded_vm(profile, options=['--machine', machine, '--guest-balloon', guest], cmdline=cmdline)


def task(vm, **options):
    return {DEVICES: dict(socket=vm.socket_path, **options), 'ignore_errors': True}


@pytest.mark.parametrize('profile, machine', CASES)
def test_balloon_target_check_mode_plug_and_unchanged_rerun(profile, machine, recorded_vm, playbook):
    vm = balloon_vm(recorded_vm, profile, machine)
    checked = playbook([task(vm, balloon='256M')], check=True, diff=True).results[0]
    assert checked['changed'] and checked['commands'] == [{'execute': 'balloon', 'arguments': {'value': 256 << 20}}]
    assert checked['diff'] == {'before': {'resources': {'balloon': 512 << 20}}, 'after': {'resources': {'balloon': 256 << 20}}}
    assert 'balloon' not in executed(vm.socket_path), 'check mode sends no balloon'

    done = playbook([task(vm, balloon='256M'), task(vm, balloon=str(256 << 20))]).results
    assert done[0]['changed'] and done[0]['resources'] == {'before': {'balloon': 512 << 20}, 'after': {'balloon': 256 << 20}}
    assert not done[1]['changed'] and done[1]['commands'] == []
    assert executed(vm.socket_path).count('balloon') == 1


def test_balloon_target_rounds_to_whole_pages_and_is_idempotent(recorded_vm, playbook):
    vm = balloon_vm(recorded_vm, '2.5.0', 'microvm')
    runs = playbook([task(vm, balloon=str((256 << 20) + 1000)), task(vm, balloon=str((256 << 20) + 1000))]).results
    assert runs[0]['changed'] and runs[0]['resources']['after'] == {'balloon': (256 << 20) + 4096}
    assert not runs[1]['changed']


@pytest.mark.parametrize('profile, machine', CASES)
def test_balloon_refusals_say_which_is_missing_and_send_nothing_else(profile, machine, recorded_vm, playbook):
    no_device = balloon_vm(recorded_vm, profile, machine, balloon=False)
    no_driver = balloon_vm(recorded_vm, profile, machine, guest='absent')
    above = balloon_vm(recorded_vm, profile, machine)
    results = playbook([task(no_device, balloon='256M'), task(no_driver, balloon='256M'), task(above, balloon='1G'), task(above, balloon='half')]).results
    assert results[0]['failed'] and 'the VM has no balloon device' in results[0]['msg']
    assert not any(name in MUTATING for name in executed(no_device.socket_path))
    assert results[1]['failed'] and 'its guest has not activated the balloon driver' in results[1]['msg'] and not results[1]['changed']
    assert [name for name in executed(no_driver.socket_path) if name in MUTATING] == ['balloon']
    assert results[2]['failed'] and "above the VM's memory (536870912 bytes" in results[2]['msg']
    assert results[3]['failed'] and "balloon is 'half'" in results[3]['msg']
    assert not any(name in MUTATING for name in executed(above.socket_path))


@pytest.mark.parametrize('profile, machine', CASES)
def test_vcpus_above_present_refused_with_the_reason_before_anything_is_sent(profile, machine, recorded_vm, playbook, make_image):
    smp = 'cpus=1,maxcpus=4' if profile != '2.1.0' else '1'
    vm = recorded_vm(profile, options=['--machine', machine] + (['--root-ports', '1'] if machine == 'q35' else []), cmdline=['-smp', smp])
    image = make_image('d.img')
    results = playbook([task(vm, vcpus=2, disks=[{'id': 'data0', 'path': image}]), task(vm, vcpus=1), task(vm, vcpus=0)], check=False).results
    reason = {
        'microvm': 'StratoVirt 2.5.0 has no vCPU hot-plug on a micro VM',
        'q35': 'vCPU hot-plug hangs a StratoVirt 2.5.0 standard VM for good',
    }[machine]
    if profile == '2.1.0':  # 2.1.0 refuses -smp maxcpus at launch: one vCPU is all there can be
        reason = "vcpus 2 is above the VM's 1 possible vCPUs"
    assert results[0]['failed'] and reason in results[0]['msg'], results[0]['msg']
    assert not any(name in MUTATING for name in executed(vm.socket_path)), 'the disk is not plugged either'
    assert not results[1].get('failed') and not results[1]['changed'] and results[1]['resources'] == {'before': {'vcpus': 1}, 'after': {'vcpus': 1}}
    assert results[2]['failed'] and 'at least one vCPU' in results[2]['msg']


def test_vms_take_the_same_resource_options(recorded_vm, playbook):
    vm = balloon_vm(recorded_vm, '2.5.0', 'q35')
    run = playbook([{VMS: {'vms': [{'name': 'a', 'socket': vm.socket_path, 'balloon': '384M', 'vcpus': 1}]}}]).results[0]
    assert run['changed'], run
    assert executed(vm.socket_path).count('balloon') == 1
