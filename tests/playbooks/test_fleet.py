# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""End to end: stratovirt_vms (one call per host) and stratovirt_vms_info, through ansible-playbook."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import ANSIBLE_PLAYBOOK, CALLBACK_PLUGINS, collections_root, received, record_option
from tested_releases import MACHINES, EDGE_PROFILES as PROFILES

VMS = 'stratovirt.qmp.stratovirt_vms'
VMS_INFO = 'stratovirt.qmp.stratovirt_vms_info'
MUTATING = ('blockdev-add', 'device_add', 'netdev_add', 'device_del', 'blockdev-del', 'netdev_del')


def executed(socket_path):
    return [json.loads(text)['execute'] for text in received(socket_path)]


def start_fleet(start_vm, make_image, tmp_path, prefix, fail=None, options=()):
    """One VM per release and machine type, each with a disk; ``fail``: the name of one more that fails its plug."""
    declared = []
    for profile in PROFILES:
        for machine in MACHINES:
            name = '%s-%s-%s' % (prefix, machine, profile.replace('.', ''))
            socket_name = name + '.sock'
            standard = machine == 'standard'
            vm = start_vm(
                profile,
                'standard' if standard else 'microvm',
                name=socket_name,
                cmdline=['-name', name],
                options=record_option(str(tmp_path / socket_name)) + (['--root-ports', '2'] if standard else []) + list(options),
            )
            disk = {'id': 'data0', 'path': make_image(name + '.img', 8)}
            disk.update({'bus': 'pcie.1'} if standard else {'addr': '0x1'})
            declared.append({'name': name, 'socket': vm.socket_path, 'machine': machine, 'disks': [disk]})
    if fail:
        socket_name = fail + '.sock'
        vm = start_vm('2.5.0', 'microvm', name=socket_name, options=record_option(str(tmp_path / socket_name)) + ['--fault-fail', 'device_add'])
        declared.insert(1, {'name': fail, 'socket': vm.socket_path, 'disks': [{'id': 'data0', 'path': make_image(fail + '.img', 8)}]})
    return declared


def test_one_call_per_vm_set_check_mode_and_diff_then_converge_with_one_failure(start_vm, make_image, tmp_path, playbook):
    declared = start_fleet(start_vm, make_image, tmp_path, 'a', fail='broken')
    ghost = {'name': 'ghost', 'socket': str(tmp_path / 'ghost.sock')}
    stray = start_vm(name='stray.sock', cmdline=['-name', 'stray'], options=record_option(str(tmp_path / 'stray.sock')))

    checked = playbook([{'name': 'plan', VMS: {'vms': declared}}], check=True, diff=True)
    plan = checked.results[0]
    assert checked.rc == 0 and plan['changed'], plan
    assert [entry['name'] for entry in plan['vms']] == [vm['name'] for vm in declared]
    assert all(entry['changed'] and [command['execute'] for command in entry['commands']] == ['blockdev-add', 'device_add'] for entry in plan['vms'])
    assert sorted(plan['diff']['after']) == sorted(vm['name'] for vm in declared)
    assert all(plan['diff']['after'][vm['name']]['data0']['path'] == vm['disks'][0]['path'] for vm in declared)
    assert [name for vm in declared for name in executed(vm['socket']) if name in MUTATING] == []

    run = playbook([{'name': 'converge', VMS: {'vms': declared}, 'ignore_errors': True}])
    result = run.results[0]
    assert result['failed'] and result['failed_vms'] == ['broken']
    broken = declared[1]
    assert result['msg'].startswith('1 of %d VMs failed: broken (VM %s: ' % (len(declared), broken['socket']))
    assert 'injected failure' in result['msg']
    for entry, vm in zip(result['vms'], declared):
        if vm['name'] == 'broken':
            continue
        assert entry['changed'] and not entry['failed'], entry
        assert [name for name in executed(vm['socket']) if name in MUTATING] == ['blockdev-add', 'device_add']
        assert entry['stratovirt']['machine'] == vm['machine']
    assert [name for name in executed(broken['socket']) if name in MUTATING] == ['blockdev-add', 'device_add', 'device_del']
    assert result['host']['not_running'] == []

    listed = playbook([{'name': 'list', VMS_INFO: {'vms': declared + [ghost], 'read_undeclared': False}}]).results[0]
    assert listed['not_running'] == ['ghost']
    assert {'pid': stray.pid, 'name': 'stray', 'sockets': [stray.socket_path]} in listed['undeclared']
    by_name = {entry['name']: entry for entry in listed['declared']}
    for vm in declared:
        assert by_name[vm['name']]['running'] and by_name[vm['name']]['status'] == 'running', by_name[vm['name']]
    assert by_name['ghost']['running'] is False
    devices = {entry['name']: entry['devices'] for entry in listed['vms'] if entry['name']}
    assert [device['id'] for device in devices['a-standard-250'] or []] == ['data0'], listed['vms']
    resources = {entry['name']: entry['resources'] for entry in listed['vms'] if entry['name']}
    assert resources['a-standard-250']['vcpus']['present'] == 1 and resources['a-standard-250']['memory']['balloon'] == 'no balloon device'
    assert resources['stray'] is None, 'an undeclared monitor is not read'
    assert received(stray.socket_path) == [], 'an undeclared monitor is not touched'


def run_inventory(directory, hosts):
    """Every inventory host a local one, with its own VMs: the hosts' module calls run at the same time."""
    inventory = os.path.join(directory, 'inventory.json')
    with open(inventory, 'w', encoding='utf-8') as stream:
        json.dump(
            {
                'all': {
                    'hosts': {host: {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable, 'fleet': vms} for host, vms in hosts.items()}
                }
            },
            stream,
        )
    book = os.path.join(directory, 'hosts.yml')
    with open(book, 'w', encoding='utf-8') as stream:
        json.dump([{'hosts': 'all', 'gather_facts': False, 'tasks': [{'name': 'converge', VMS: {'vms': '{{ fleet }}'}}]}], stream)
    env = dict(
        os.environ,
        ANSIBLE_STDOUT_CALLBACK='json',
        ANSIBLE_CALLBACK_PLUGINS=CALLBACK_PLUGINS,
        ANSIBLE_COLLECTIONS_PATH=collections_root(),
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_LOCAL_TEMP=os.path.join(directory, 'ansible-tmp'),
        ANSIBLE_RETRY_FILES_ENABLED='False',
    )
    completed = subprocess.run(
        [ANSIBLE_PLAYBOOK, '-i', inventory, '-f', '2', book], cwd=directory, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return completed.returncode, json.loads(completed.stdout)


def sessions(socket_path):
    """The lines the simulator at ``socket_path`` logged, split at each greeting it sent (one list per session)."""
    with open(socket_path + '.qmp.jsonl', encoding='utf-8') as stream:
        lines = [json.loads(line) for line in stream if line.strip()]
    found = []
    for line in lines:
        if '"QMP"' in line.get('sent', ''):
            found.append([])
        if found:
            found[-1].append(line)
    return found


def test_two_hosts_converge_at_once_each_vm_in_one_whole_session_under_its_lock(start_vm, make_image, tmp_path):
    # Replies delayed a little, so that each host's sessions last long enough to overlap the other host's.
    hosts = {host: start_fleet(start_vm, make_image, tmp_path, host, options=['--fault-delay', '0.1']) for host in ('hv0', 'hv1')}
    rc, document = run_inventory(str(tmp_path), hosts)
    assert rc == 0, json.dumps(document)[-3000:]
    spans = {}
    for host, vms in hosts.items():
        for vm in vms:
            whole = sessions(vm['socket'])
            assert len(whole) == 1, (vm['name'], whole)
            names = [json.loads(line['received'])['execute'] for line in whole[0] if 'received' in line]
            # One session, whole: the reads, then the plug, nothing of another session in between.
            assert names[0] == 'query-version' and names[-2:] == ['blockdev-add', 'device_add'], names
            assert os.path.exists(os.path.realpath(vm['socket']) + '.lock')
            spans[(host, vm['name'])] = (whole[0][0]['time'], whole[0][-1]['time'])
    # The two hosts' calls overlapped in time (forks 2): each host's sessions began before the other's had all ended.
    host_spans = {
        host: (
            min(start for (owner, dummy), (start, dummy_end) in spans.items() if owner == host),
            max(end for (owner, dummy), (dummy_start, end) in spans.items() if owner == host),
        )
        for host in hosts
    }
    assert host_spans['hv0'][0] < host_spans['hv1'][1] and host_spans['hv1'][0] < host_spans['hv0'][1], host_spans
