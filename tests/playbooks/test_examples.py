# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EXAMPLES of each module run, as written, against a simulated VM (paths and taps mapped to this host)."""

from __future__ import annotations

import os

import pytest
import yaml

from ansible_collections.stratovirt.qmp.plugins.modules import stratovirt_disk, stratovirt_nic
from tested_releases import EDGE_PROFILES as PROFILES, release


def mapped(text, mapping):
    for old, new in mapping.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize('module', [stratovirt_disk, stratovirt_nic], ids=['stratovirt_disk', 'stratovirt_nic'])
@pytest.mark.parametrize('profile', PROFILES)
def test_examples_run(module, profile, start_vm, make_image, host_tap, playbook, tmp_path):
    vm = start_vm(profile)
    # The standard VM examples: a VM with a root port and an iothread, a qcow2 image.
    standard = start_vm(
        profile, machine='standard', name='db.sock', cmdline=['-device', 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3', '-object', 'iothread,id=io1']
    )
    qcow2 = tmp_path / 'data1.qcow2'
    qcow2.write_bytes(b'QFI\xfb\0\0\0\3'.ljust(1024 * 1024, b'\0'))
    mapping = {'/srv/vm/qa/qmp.sock': vm.socket_path, '/srv/vm/db/qmp.sock': standard.socket_path, 'tap0': host_tap(), '/srv/vm/data1.qcow2': str(qcow2)}
    for name in ('disk0.img', 'disk1.img', 'data.img'):
        mapping['/srv/vm/' + name] = make_image(name)
    tasks = yaml.safe_load(mapped(module.EXAMPLES, mapping))
    # An example that names the release it needs is refused, sending nothing, on an older one.
    too_new = [task for task in tasks if 'StratoVirt 2.3.0 or later' in task['name'] and release(profile) < (2, 3)]
    for task in too_new:
        task['ignore_errors'] = True
    run = playbook(tasks)
    assert run.rc == 0, run.stdout
    refused = [result for result in run.results if result.get('failed')]
    assert len(refused) == len(too_new)
    assert all('takes it from StratoVirt 2.3.0' in result['msg'] and result['commands'] == [] for result in refused)
    assert any(result.get('changed') for result in run.results)
    assert os.path.exists(vm.socket_path) and vm.alive() and standard.alive()
