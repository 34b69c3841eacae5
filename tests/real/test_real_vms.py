# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's modules against a real StratoVirt: ``make test-real STRATOVIRT=/path/to/stratovirt``.

Not part of ``make test``. Each test starts its own micro or standard VM (real_vm.py: a bare-metal guest built here
with binutils, Debian's OVMF for a standard VM) and stops it by its pid. Nothing here sends what would hang a VM: the
vCPU refusal is checked, then the VM is shown to answer still.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

from real_vm import RealVM, RealVMError, build_guest, missing_tools

BINARY = os.environ.get('STRATOVIRT', '')
if not BINARY:
    pytest.skip('no StratoVirt binary given: make test-real STRATOVIRT=/path/to/stratovirt', allow_module_level=True)

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('playbook_runner', os.path.join(HERE, '..', 'playbooks', 'conftest.py'))
playbook_runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(playbook_runner)

INFO = 'stratovirt.qmp.stratovirt_info'
DEVICES = 'stratovirt.qmp.stratovirt_devices'
DISK = 'stratovirt.qmp.stratovirt_disk'


@pytest.fixture(scope='module')
def guest(tmp_path_factory):
    if missing_tools('micro'):
        pytest.skip('cannot build the guest: missing %s' % ', '.join(missing_tools('micro')))
    return build_guest(str(tmp_path_factory.mktemp('guest')))


@pytest.fixture
def real_vm(guest):
    """``real_vm(machine, extra_args, smp)`` -> a started VM whose monitor is free for the collection."""
    started = []

    def start(machine, extra_args=(), smp='1'):
        lacking = missing_tools(machine)
        if lacking:
            pytest.skip('cannot start a %s VM: missing %s' % (machine, ', '.join(lacking)))
        vm = RealVM(os.path.abspath(BINARY), machine, guest, extra_args, name='real-%s' % machine, smp=smp)
        vm.start()
        started.append(vm)
        vm.release_monitor()
        return vm

    yield start
    for vm in started:
        vm.stop()


@pytest.fixture
def playbook(tmp_path):
    return lambda tasks, check=False: playbook_runner.run_playbook(str(tmp_path), tasks, check=check)


def info(playbook, vm):
    return playbook([{INFO: {'socket': vm.socket_path}}]).results[0]


def release_of(result):
    return tuple(int(part) for part in result['stratovirt']['release'].split('.'))


@pytest.mark.parametrize('machine', ['micro', 'standard'])
def test_info_reports_the_resources(machine, real_vm, playbook):
    vm = real_vm(machine, ['-object', 'iothread,id=iothread0'])
    result = info(playbook, vm)
    assert not result.get('failed'), result.get('msg')
    resources = result['resources']
    assert resources['vcpus']['present'] == 1 and resources['vcpus']['possible'] == 1
    assert resources['vcpus']['hotplug'] != 'supported'
    assert resources['memory'] == {'size': (256 if machine == 'micro' else 512) << 20, 'balloon': 'no balloon device', 'balloon_actual': None}
    assert resources['iothreads'] == ['iothread0']
    assert vm.alive()


def test_balloon_without_a_guest_driver_is_refused_and_changes_nothing(real_vm, playbook):
    try:
        vm = real_vm('micro', ['-device', 'virtio-balloon-device,id=balloon0'])
    except RealVMError:  # a release that takes no id on it (the 2.1.0 recording started it without)
        vm = real_vm('micro', ['-device', 'virtio-balloon-device'])
    before = info(playbook, vm)['resources']['memory']
    assert before['balloon_actual'] == 256 << 20
    refused = playbook([{DEVICES: {'socket': vm.socket_path, 'balloon': '128M'}, 'ignore_errors': True}]).results[0]
    assert refused['failed'] and 'its guest has not activated the balloon driver' in refused['msg'] and not refused['changed']
    assert info(playbook, vm)['resources']['memory'] == before


@pytest.mark.parametrize('machine', ['micro', 'standard'])
def test_more_vcpus_refused_before_anything_is_sent_and_the_vm_still_answers(machine, real_vm, playbook):
    probe = real_vm(machine)
    release = release_of(info(playbook, probe))
    smp = '1' if release < (2, 2, 0) else 'cpus=1,maxcpus=4'  # 2.1.0 refuses maxcpus at launch
    vm = real_vm(machine, smp=smp)
    refused = playbook([{DEVICES: {'socket': vm.socket_path, 'vcpus': 2}, 'ignore_errors': True}]).results[0]
    assert refused['failed'] and 'nothing was sent' in refused['msg'] or 'possible vCPUs' in refused['msg'], refused['msg']
    after = info(playbook, vm)
    assert after['status']['status'] == 'running' and after['resources']['vcpus']['present'] == 1


def test_micro_disk_plug_and_unplug(real_vm, playbook, tmp_path):
    vm = real_vm('micro')
    image = str(tmp_path / 'data0.img')
    with open(image, 'wb') as handle:
        handle.truncate(16 << 20)
    runs = playbook(
        [
            {DISK: {'socket': vm.socket_path, 'id': 'data0', 'path': image}},
            {DISK: {'socket': vm.socket_path, 'id': 'data0', 'path': image}},
            {DISK: {'socket': vm.socket_path, 'id': 'data0', 'state': 'absent'}},
        ]
    ).results
    assert [run.get('failed', False) for run in runs] == [False, False, False], [run.get('msg') for run in runs]
    assert [run['changed'] for run in runs] == [True, False, True]
    assert vm.alive()


def test_binary_is_executable():
    assert shutil.which(BINARY) or os.access(BINARY, os.X_OK), BINARY
