# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``ansible-playbook stratovirt.qmp.rollout`` over a simulated fleet: 3 hosts x 5 micro VMs, twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from conftest import ANSIBLE_PLAYBOOK, CALLBACK_PLUGINS, collections_root, received, record_option
from tested_releases import PROFILES

HOSTS = 3
VMS_PER_HOST = 5


def run_rollout(directory, inventory, extra_vars=None):
    """Run the rollout playbook with the JSON callback; -> (rc, document, seconds)."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_STDOUT_CALLBACK='json',
        ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
        ANSIBLE_COLLECTIONS_PATH=collections_root(),
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_LOCAL_TEMP=os.path.join(directory, 'ansible-tmp'),
        ANSIBLE_RETRY_FILES_ENABLED='False',
    )
    argv = [ANSIBLE_PLAYBOOK, 'stratovirt.qmp.rollout', '-i', inventory]
    for key, value in (extra_vars or {}).items():
        argv += ['-e', '%s=%s' % (key, value)]
    started = time.monotonic()
    completed = subprocess.run(argv, cwd=directory, env=env, capture_output=True, text=True, timeout=600, check=False)
    try:
        document = json.loads(completed.stdout)
    except ValueError as error:
        raise AssertionError('no JSON from ansible-playbook (rc %d)\n%s\n%s' % (completed.returncode, completed.stdout, completed.stderr)) from error
    return completed.returncode, document, time.monotonic() - started


def task_results(document, task_name):
    """{host: result} of every run of the task named ``task_name`` (one per serial batch; role tasks are prefixed)."""
    found = {}
    for play in document['plays']:
        for task in play['tasks']:
            if task['task']['name'].split(' : ')[-1] == task_name:
                found.update(task['hosts'])
    return found


def summary_of(document):
    return task_results(document, 'Build the fleet summary from every host\'s report')['localhost']['ansible_facts']['rollout_summary']


def device_adds(socket_path):
    ids = []
    for text in received(socket_path):
        try:
            command = json.loads(text)
        except ValueError:
            continue
        if command.get('execute') == 'device_add':
            ids.append(command['arguments']['id'])
    return ids


def write_inventory(path, hosts):
    with open(path, 'w', encoding='utf-8') as stream:
        json.dump({'all': {'children': {'hypervisors': {'hosts': hosts}}}}, stream, indent=2)
    return path


def host_vars(vms):
    return {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'vm_devices_vms': vms}


def test_rollout_fleet_converges_then_no_change(start_vm, make_image, host_tap, free_tap_name, tmp_path, figures):
    hosts = {}
    declared = {}
    for host_number in range(HOSTS):
        host = 'hv%d' % host_number
        vms = []
        for vm_number in range(VMS_PER_HOST):
            name = 'h%dv%d' % (host_number, vm_number)
            profile = PROFILES[(host_number + vm_number) % len(PROFILES)]
            socket_name = name + '.sock'
            vm = start_vm(profile, 'microvm', options=record_option(str(tmp_path / socket_name)), name=socket_name)
            # Every other VM gets a host tap made beforehand, the others a tap StratoVirt creates.
            nic = {'id': 'net0', 'ifname': host_tap()} if vm_number % 2 == 0 else {'id': 'net0', 'ifname': free_tap_name('svr'), 'create_tap': True}
            vms.append(
                {
                    'name': name,
                    'socket': vm.socket_path,
                    'exclusive': vm_number == 0,
                    'disks': [
                        {'id': 'data0', 'path': make_image(name + '-data0.img', 16), 'addr': '0x1'},
                        {'id': 'data1', 'path': make_image(name + '-data1.img', 16), 'read_only': True},
                    ],
                    'nics': [nic],
                }
            )
            declared[vm.socket_path] = ['data0', 'data1', 'net0']
        hosts[host] = host_vars(vms)
    inventory = write_inventory(str(tmp_path / 'inventory.json'), hosts)

    rc, document, first_seconds = run_rollout(str(tmp_path), inventory)
    assert rc == 0, json.dumps(document, indent=1)[-4000:]
    for socket_path, ids in declared.items():
        assert sorted(device_adds(socket_path)) == sorted(ids), socket_path
    summary = summary_of(document)
    assert summary['vms'] == HOSTS * VMS_PER_HOST
    assert summary['vms_changed'] == HOSTS * VMS_PER_HOST
    assert summary['devices_plugged'] == HOSTS * VMS_PER_HOST * 3
    assert summary['devices_unplugged'] == 0
    assert sorted(summary['hosts_verified']) == sorted(hosts) and summary['failures'] == []
    assert all(document['stats'][host]['changed'] > 0 and document['stats'][host]['failures'] == 0 for host in hosts)

    rc, document, second_seconds = run_rollout(str(tmp_path), inventory)
    assert rc == 0, json.dumps(document, indent=1)[-4000:]
    for socket_path, ids in declared.items():
        assert sorted(device_adds(socket_path)) == sorted(ids), 'second run plugged again into %s' % socket_path
    summary = summary_of(document)
    assert summary['vms_changed'] == 0 and summary['devices_plugged'] == 0 and summary['commands'] == 0
    assert sorted(summary['hosts_verified']) == sorted(hosts)
    assert all(stats['changed'] == 0 and stats['failures'] == 0 for stats in document['stats'].values())
    figures('rollout: %d hosts x %d VMs, first run %.1f s, second run (no change) %.1f s' % (HOSTS, VMS_PER_HOST, first_seconds, second_seconds))


def test_rollout_one_vm_failing_does_not_hide_the_others(start_vm, make_image, tmp_path):
    good = start_vm('2.5.0', 'microvm', name='good.sock')
    bad = start_vm('2.1.0', 'microvm', name='bad.sock')
    after = start_vm('2.1.0', 'microvm', name='after.sock')
    vms = [
        {'name': 'good', 'socket': good.socket_path, 'disks': [{'id': 'data0', 'path': make_image('good.img', 16)}]},
        # An image that does not exist: this VM fails, the next one is still converged.
        {'name': 'bad', 'socket': bad.socket_path, 'disks': [{'id': 'data0', 'path': str(tmp_path / 'missing.img')}]},
        {'name': 'after', 'socket': after.socket_path, 'disks': [{'id': 'data0', 'path': make_image('after.img', 16)}]},
    ]
    inventory = write_inventory(str(tmp_path / 'inventory.json'), {'hv0': host_vars(vms)})
    rc, document, dummy = run_rollout(str(tmp_path), inventory)
    assert rc != 0
    report = task_results(document, 'Report per VM what changed')['hv0']['ansible_facts']['vm_devices_report']
    by_name = {entry['name']: entry for entry in report}
    assert by_name['good']['plugged'] == ['data0'] and not by_name['good']['failed']
    assert by_name['after']['plugged'] == ['data0'] and not by_name['after']['failed']
    assert by_name['bad']['failed'] and by_name['bad']['msg']
    failed = task_results(document, 'Fail the host if any of its VMs failed')['hv0']
    assert failed.get('failed') and 'bad' in failed['msg']


def test_play_recap_counts_the_changes_of_the_other_vms_when_one_fails_and_the_host_fails_once(start_vm, make_image, tmp_path):
    vms = []
    for profile in PROFILES:
        plugged = start_vm(profile, 'microvm', name='plug%s.sock' % profile)
        vms.append({'name': 'plug-%s' % profile, 'socket': plugged.socket_path, 'disks': [{'id': 'data0', 'path': make_image('p%s.img' % profile, 16)}]})
    broken = start_vm('2.1.0', 'microvm', name='broken.sock')
    vms.insert(1, {'name': 'broken', 'socket': broken.socket_path, 'disks': [{'id': 'data0', 'path': str(tmp_path / 'missing.img')}]})
    inventory = write_inventory(str(tmp_path / 'inventory.json'), {'hv0': host_vars(vms)})
    rc, document, dummy = run_rollout(str(tmp_path), inventory)
    assert rc != 0
    stats = document['stats']['hv0']
    assert stats['changed'] >= 1 and stats['failures'] == 1, stats
    converged = task_results(document, 'Converge the devices of every VM')['hv0']
    assert converged['changed'] and not converged.get('failed'), 'the per-VM lines report the failure, not the module result'
    assert [entry['name'] for entry in converged['vms'] if entry['failed']] == ['broken']
    assert 'broken' in task_results(document, 'Fail the host if any of its VMs failed')['hv0']['msg']
