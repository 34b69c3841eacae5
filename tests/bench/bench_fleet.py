# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark (not a test): N simulated micro VMs on this host, three ways of converging them.

    PYTHONPATH=<dir holding ansible_collections> .venv/bin/python tests/bench/bench_fleet.py [--vms 50] [--devices 3]

1. raw:   a playbook with one ansible.builtin.command task per QMP command (what operators write today);
2. role:  stratovirt.qmp.vm_devices converging the same devices (one stratovirt_devices call per VM);
3. rerun: the role again, nothing to change.
Prints the three wall times and the ratios role/raw and rerun/raw. --devices counts disks, plus one NIC
when it is 3 or more (3 = 2 disks + 1 NIC, the issue's case; 1 = 1 disk; 4 = 3 disks + 1 NIC).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from stratovirt_sim.control import SimulatedVM, new_tap_name

HERE = os.path.dirname(os.path.abspath(__file__))

QMP_SEND = os.path.join(HERE, 'qmp_send.py')


def declare(workdir, vms, devices):
    disks = devices - 1 if devices >= 3 else devices
    declared = []
    for number, vm in enumerate(vms):
        entry = {'name': 'vm%d' % number, 'socket': vm.socket_path, 'disks': [], 'nics': []}
        for disk in range(disks):
            path = os.path.join(workdir, 'vm%d-disk%d.img' % (number, disk))
            with open(path, 'wb') as image:
                image.truncate(16 * 1024 * 1024)
            entry['disks'].append({'id': 'drive-%d' % disk, 'path': path, 'addr': '0x%x' % disk})
        if devices >= 3:
            entry['nics'].append({'id': 'net-0', 'ifname': new_tap_name('svb'), 'create_tap': True, 'addr': '0x0'})
        declared.append(entry)
    return declared


def raw_commands(entry):
    commands = []
    for disk in entry['disks']:
        commands.append({'execute': 'blockdev-add', 'arguments': {'node-name': disk['id'], 'file': {
            'driver': 'file', 'filename': disk['path']}, 'cache': {'direct': True}, 'read-only': False}})
        commands.append({'execute': 'device_add', 'arguments': {'id': disk['id'], 'driver': 'virtio-blk-mmio', 'addr': disk['addr']}})
    for nic in entry['nics']:
        commands.append({'execute': 'netdev_add', 'arguments': {'id': nic['id'], 'ifname': nic['ifname']}})
        commands.append({'execute': 'device_add', 'arguments': {'id': nic['id'], 'driver': 'virtio-net-mmio', 'addr': nic['addr']}})
    return commands


def write_playbooks(workdir, declared):
    steps = max(len(raw_commands(entry)) for entry in declared)
    raw_tasks = []
    for step in range(steps):
        items = [{'socket': entry['socket'], 'command': json.dumps(raw_commands(entry)[step], separators=(',', ':'))}
                 for entry in declared if step < len(raw_commands(entry))]
        raw_tasks.append({'name': 'QMP command %d of each VM' % (step + 1),
                          'ansible.builtin.command': {'argv': ['{{ ansible_playbook_python }}', QMP_SEND, '{{ item.socket }}',
                                                               '{{ item.command }}']},
                          'loop': items, 'changed_when': True})
    play = {'hosts': 'localhost', 'gather_facts': False}
    books = {'raw': [dict(play, tasks=raw_tasks)],
             'role': [dict(play, tasks=[{'ansible.builtin.include_role': {'name': 'stratovirt.qmp.vm_devices'},
                                         'vars': {'vm_devices_vms': declared}}])]}
    paths = {}
    for name, book in books.items():
        paths[name] = os.path.join(workdir, name + '.yml')
        with open(paths[name], 'w', encoding='utf-8') as handle:
            json.dump(book, handle)
    return paths


def timed(playbook):
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
               '-e', 'ansible_python_interpreter=' + sys.executable, playbook]
    started = time.monotonic()
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode:
        sys.stdout.write(completed.stdout[-3000:])
        raise SystemExit('benchmark: %s failed' % playbook)
    return elapsed


def run(vm_count, devices):
    with tempfile.TemporaryDirectory(prefix='stratovirt-fleet-') as workdir:
        raw_vms = [SimulatedVM(os.path.join(workdir, 'raw%d.sock' % n)) for n in range(vm_count)]
        role_vms = [SimulatedVM(os.path.join(workdir, 'role%d.sock' % n)) for n in range(vm_count)]
        for vm in raw_vms + role_vms:
            vm.start()
        try:
            raw_books = write_playbooks(os.path.join(workdir), declare(workdir, raw_vms, devices))
            raw = timed(raw_books['raw'])
            role_dir = os.path.join(workdir, 'role')
            os.mkdir(role_dir)
            role_books = write_playbooks(role_dir, declare(role_dir, role_vms, devices))
            role = timed(role_books['role'])
            rerun = timed(role_books['role'])
        finally:
            for vm in raw_vms + role_vms:
                vm.stop()
    return raw, role, rerun


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--vms', type=int, default=50)
    parser.add_argument('--devices', type=int, nargs='+', default=[3], help='devices per VM (several: one run each)')
    args = parser.parse_args()
    for devices in args.devices:
        raw, role, rerun = run(args.vms, devices)
        print('N=%d VMs x %d devices: raw %.1f s, role %.1f s (%.3f s/VM), rerun %.1f s; role/raw %.2f, rerun/raw %.2f'
              % (args.vms, devices, raw, role, role / args.vms, rerun, role / raw, rerun / raw))
    return 0


if __name__ == '__main__':
    sys.exit(main())
