# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark (not a test): wall time of a no-op stratovirt_disk call next to ansible.builtin.ping.

    PYTHONPATH=<dir holding ansible_collections> .venv/bin/python tests/bench/bench_noop.py [--runs 7]

Each figure is the median wall time of one ansible-playbook run holding one task, on a simulated
StratoVirt 2.1.0 micro VM whose disk is already plugged, so the module call changes nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from stratovirt_sim.control import SimulatedVM

HERE = os.path.dirname(os.path.abspath(__file__))

PLAYBOOK = '''- hosts: localhost
  gather_facts: false
  tasks:
    - {task}
'''
DISK_TASK = 'stratovirt.qmp.stratovirt_disk: {{socket: "{socket}", id: drive-0, path: "{image}", addr: "0x1"}}'
PING_TASK = 'ansible.builtin.ping:'


def timed_run(playbook: str) -> float:
    command = [
        os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
        '-i',
        'localhost,',
        '-c',
        'local',
        '-e',
        'ansible_python_interpreter=' + sys.executable,
        playbook,
    ]
    started = time.monotonic()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=7)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory(prefix='stratovirt-bench-') as workdir:
        image = os.path.join(workdir, 'disk0.img')
        with open(image, 'wb') as handle:
            handle.truncate(64 * 1024 * 1024)
        vm = SimulatedVM(os.path.join(workdir, 'vm.sock')).start()
        try:
            books = {}
            for name, task in (('stratovirt_disk no-op', DISK_TASK.format(socket=vm.socket_path, image=image)), ('ansible.builtin.ping', PING_TASK)):
                books[name] = os.path.join(workdir, name.split()[0].split('.')[-1] + '.yml')
                with open(books[name], 'w', encoding='utf-8') as handle:
                    handle.write(PLAYBOOK.format(task=task))
            timed_run(books['stratovirt_disk no-op'])  # the first run plugs the disk
            figures = {name: statistics.median(timed_run(book) for dummy in range(runs)) for name, book in books.items()}
        finally:
            vm.stop()
    for name, seconds in figures.items():
        print('%-24s median %.3f s over %d runs' % (name, seconds, runs))
    print('no-op module / ping: %.2f' % (figures['stratovirt_disk no-op'] / figures['ansible.builtin.ping']))
    return 0


if __name__ == '__main__':
    sys.exit(main())
