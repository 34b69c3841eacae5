# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: simulated VMs, a playbook that plugs two disks and a NIC into each, run again, then unplug.

Starts a StratoVirt 2.1.0 and a 2.5.0 simulated micro VM with the collection's simulated_vm role
(tests/demo/vms.yml), runs tests/demo/hotplug.yml three times (plug, the same again, unplug), prints what
changed and which QMP commands each VM received (from the simulator's own record), and stops the VMs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
RECAP = re.compile(r'ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)')
CHANGED_ITEM = re.compile(r'^changed: \[localhost\] => \(item=', re.MULTILINE)
RELEASES = ('2.1.0', '2.5.0')


def declare_vms(workdir):
    """The simulated_vm role's variables, and the devices the demo declares for each VM."""
    vm_dir = os.path.join(workdir, 'vms')
    simulated, declared, images = [], [], []
    for number, release in enumerate(RELEASES):
        name = 'vm%d' % number
        disks = [{'id': 'drive-%d' % disk, 'path': os.path.join(workdir, '%s-disk%d.img' % (name, disk))} for disk in range(2)]
        images += [{'path': disk['path']} for disk in disks]
        simulated.append({'name': name, 'release': release, 'machine': 'micro', 'record': True})
        declared.append(
            {
                'name': '%s (StratoVirt %s)' % (name, release),
                'socket': os.path.join(vm_dir, name + '.sock'),
                'disks': disks,
                'nics': [{'id': 'net-0', 'ifname': 'svdemo%d%d' % (os.getpid() % 1000, number)}],
            }
        )
    return {'simulated_vm_dir': vm_dir, 'simulated_vm_vms': simulated, 'simulated_vm_images': images}, declared


def run_playbook(workdir, playbook, variables):
    extra = os.path.join(workdir, 'vars.json')
    with open(extra, 'w', encoding='utf-8') as handle:
        json.dump(variables, handle)
    command = [
        os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
        '-i',
        'localhost,',
        '-c',
        'local',
        '-e',
        '@' + extra,
        '-e',
        'ansible_python_interpreter=' + sys.executable,
        os.path.join(HERE, playbook),
    ]
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    print(completed.stdout)
    if completed.returncode or not RECAP.search(completed.stdout):
        raise SystemExit('demo: ansible-playbook %s failed (rc %d)' % (playbook, completed.returncode))
    return len(CHANGED_ITEM.findall(completed.stdout))


def mutating_commands(record_path):
    sent = []
    with open(record_path, encoding='utf-8') as handle:
        for line in handle:
            received = json.loads(line).get('received', '')
            if received and 'query-version' not in received:
                sent.append(json.loads(received)['execute'] + ' ' + json.dumps(json.loads(received).get('arguments', {})))
    return sent


def main() -> int:
    with tempfile.TemporaryDirectory(prefix='stratovirt-demo-') as workdir:
        simulated, declared = declare_vms(workdir)
        run_playbook(workdir, 'vms.yml', dict(simulated, simulated_vm_state='started'))
        try:
            summary = [
                ('plug', run_playbook(workdir, 'hotplug.yml', {'vms': declared, 'device_state': 'present'})),
                ('same again', run_playbook(workdir, 'hotplug.yml', {'vms': declared, 'device_state': 'present'})),
                ('unplug', run_playbook(workdir, 'hotplug.yml', {'vms': declared, 'device_state': 'absent'})),
            ]
            for vm in declared:
                print('QMP commands %s received:' % vm['name'])
                for command in mutating_commands(vm['socket'] + '.qmp.jsonl'):
                    print('  ' + command)
        finally:
            run_playbook(workdir, 'vms.yml', dict(simulated, simulated_vm_state='stopped'))
    print('summary: ' + ', '.join('%s: %d devices changed' % pair for pair in summary))
    if summary[1][1] != 0 or summary[0][1] == 0 or summary[2][1] == 0:
        print('demo: unexpected result')
        return 1
    print('demo: the second run changed nothing')
    return 0


if __name__ == '__main__':
    sys.exit(main())
