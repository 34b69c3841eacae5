# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo`: simulated VMs, a playbook that plugs two disks and a NIC into each, run again, then unplug.

Starts a StratoVirt 2.1.0 and a 2.5.0 simulated micro VM, runs tests/demo/hotplug.yml three times
(plug, the same again, unplug) and prints what changed and which QMP commands each VM received.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile

from stratovirt_sim.control import SimulatedVM

HERE = os.path.dirname(os.path.abspath(__file__))

RECAP = re.compile(r'ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)')
CHANGED_ITEM = re.compile(r'^changed: \[localhost\] => \(item=', re.MULTILINE)


def make_vms(workdir):
    vms = []
    for number, profile in enumerate(('2.1.0', '2.5.0')):
        name = 'vm%d' % number
        disks = []
        for disk in range(2):
            path = os.path.join(workdir, '%s-disk%d.img' % (name, disk))
            with open(path, 'wb') as image:
                image.truncate(64 * 1024 * 1024)
            disks.append({'id': 'drive-%d' % disk, 'path': path})
        sim = SimulatedVM(os.path.join(workdir, name + '.sock'), profile, 'microvm',
                          options=['--record', os.path.join(workdir, name + '.qmp.jsonl')])
        tap = 'svdemo%d%d' % (os.getpid() % 1000, number)
        vms.append((sim, {'name': '%s (StratoVirt %s)' % (name, profile), 'socket': sim.socket_path, 'disks': disks,
                          'nics': [{'id': 'net-0', 'ifname': tap}]}))
    return vms


def run_playbook(workdir, vms, state):
    extra = os.path.join(workdir, 'vars.json')
    with open(extra, 'w', encoding='utf-8') as handle:
        json.dump({'vms': [declared for dummy, declared in vms], 'device_state': state}, handle)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
               '-e', '@' + extra, '-e', 'ansible_python_interpreter=' + sys.executable, os.path.join(HERE, 'hotplug.yml')]
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    print(completed.stdout)
    if completed.returncode or not RECAP.search(completed.stdout):
        raise SystemExit('demo: ansible-playbook failed (rc %d)' % completed.returncode)
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
        vms = make_vms(workdir)
        for sim, dummy in vms:
            sim.start()
        try:
            summary = [('plug', run_playbook(workdir, vms, 'present')),
                       ('same again', run_playbook(workdir, vms, 'present')),
                       ('unplug', run_playbook(workdir, vms, 'absent'))]
            for sim, declared in vms:
                print('QMP commands %s received:' % declared['name'])
                for command in mutating_commands(os.path.join(workdir, os.path.basename(sim.socket_path)[:-5] + '.qmp.jsonl')):
                    print('  ' + command)
        finally:
            for sim, dummy in vms:
                sim.stop()
    print('summary: ' + ', '.join('%s: %d devices changed' % pair for pair in summary))
    if summary[1][1] != 0 or summary[0][1] == 0 or summary[2][1] == 0:
        print('demo: unexpected result')
        return 1
    print('demo: the second run changed nothing')
    return 0


if __name__ == '__main__':
    sys.exit(main())
