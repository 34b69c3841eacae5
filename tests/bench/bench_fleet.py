# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark (not a test): N VMs of one host, three ways of converging them, side by side.

    PYTHONPATH=<dir holding ansible_collections>:<simulator dir> .venv/bin/python tests/bench/bench_fleet.py \
        [--vms 10 50 100] [--devices 3] [--stratovirt PATH --kernel VMLINUX [--rootfs IMG]]

For each N, on fresh VMs each time:
1. raw:      a playbook with one ansible.builtin.command task per QMP command (what operators write today);
2. converge: the role stratovirt.qmp.vm_devices converging the same devices (one stratovirt_vms call for the host);
3. rerun:    the role again, nothing to change (the nightly "is everything as declared?" run).
Prints the wall times, the ratios to raw, the marginal cost per VM (least-squares slope of wall time over N) and the
peak memory of the module process. --devices counts disks, plus one NIC when it is 3 or more (3 = 2 disks + 1 NIC).

Peak memory, measured honestly: the converge run's ansible_python_interpreter is a small wrapper that runs the real
interpreter as its child, with the arguments Ansible gives it, waits for it and reads the child's ru_maxrss
(getrusage(RUSAGE_CHILDREN)): the peak resident set of the very process that ran the module, AnsiballZ unpacking
included. The wrapper adds one interpreter start to that run (about 20 ms), so the converge figure is a little high.

VMs are simulated (the simulator of roles/simulated_vm) unless --stratovirt names a real StratoVirt binary; those VMs
are micro VMs booted from --kernel (and --rootfs when given), with their QMP socket in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from stratovirt_sim.control import SimulatedVM, new_tap_name

HERE = os.path.dirname(os.path.abspath(__file__))
QMP_SEND = os.path.join(HERE, 'qmp_send.py')
TARGETS_AT = 50
WRAPPER = '''#!{python}
import resource, subprocess, sys, time
started = time.monotonic()
status = subprocess.call([{python!r}] + sys.argv[1:])
with open({log!r}, 'a') as log:
    log.write('%d %.3f %s\\n' % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.monotonic() - started, ' '.join(sys.argv[1:])[-80:]))
sys.exit(status)
'''


class RealVM:
    """A real StratoVirt micro VM (same interface as SimulatedVM for this script)."""

    def __init__(self, binary, kernel, rootfs, socket_path):
        self.socket_path = socket_path
        self.argv = [
            binary,
            '-machine',
            'microvm',
            '-kernel',
            kernel,
            '-smp',
            '1',
            '-m',
            '256',
            '-name',
            os.path.basename(socket_path),
            '-qmp',
            'unix:%s,server,nowait' % socket_path,
        ]
        if rootfs:
            self.argv += [
                '-append',
                'console=ttyS0 reboot=k panic=1 root=/dev/vda',
                '-drive',
                'file=%s,id=rootfs,readonly=on,direct=off' % rootfs,
                '-device',
                'virtio-blk-device,drive=rootfs,id=rootfs',
            ]
        self.process = None

    def start(self):
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket_path):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError('StratoVirt did not create %s' % self.socket_path)
            time.sleep(0.01)
        return self

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_vms(args, directory, count):
    vms = []
    try:
        for number in range(count):
            socket_path = os.path.join(directory, 'vm%d.sock' % number)
            if args.stratovirt:
                vms.append(RealVM(args.stratovirt, args.kernel, args.rootfs, socket_path).start())
            else:
                vms.append(SimulatedVM(socket_path, cmdline=['-name', 'vm%d' % number]).start())
    except BaseException:
        stop_vms(vms)
        raise
    return vms


def stop_vms(vms):
    for vm in vms:
        vm.stop()


def declare(directory, vms, devices):
    disks = devices - 1 if devices >= 3 else devices
    declared = []
    for number, vm in enumerate(vms):
        entry = {'name': 'vm%d' % number, 'socket': vm.socket_path, 'disks': [], 'nics': []}
        for disk in range(disks):
            path = os.path.join(directory, 'vm%d-disk%d.img' % (number, disk))
            with open(path, 'wb') as image:
                image.truncate(16 * 1024 * 1024)
            entry['disks'].append({'id': 'drive-%d' % disk, 'path': path, 'addr': '0x%x' % (disk + 1)})
        if devices >= 3:
            entry['nics'].append({'id': 'net-0', 'ifname': new_tap_name('svb'), 'create_tap': True, 'addr': '0x0'})
        declared.append(entry)
    return declared


def raw_commands(entry):
    commands = []
    for disk in entry['disks']:
        commands.append(
            {
                'execute': 'blockdev-add',
                'arguments': {'node-name': disk['id'], 'file': {'driver': 'file', 'filename': disk['path']}, 'cache': {'direct': True}, 'read-only': False},
            }
        )
        commands.append({'execute': 'device_add', 'arguments': {'id': disk['id'], 'driver': 'virtio-blk-mmio', 'addr': disk['addr']}})
    for nic in entry['nics']:
        commands.append({'execute': 'netdev_add', 'arguments': {'id': nic['id'], 'ifname': nic['ifname']}})
        commands.append({'execute': 'device_add', 'arguments': {'id': nic['id'], 'driver': 'virtio-net-mmio', 'addr': nic['addr']}})
    return commands


def write_playbook(path, tasks):
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': tasks}], handle)
    return path


def raw_playbook(directory, declared):
    steps = max(len(raw_commands(entry)) for entry in declared)
    tasks = []
    for step in range(steps):
        items = [
            {'socket': entry['socket'], 'command': json.dumps(raw_commands(entry)[step], separators=(',', ':'))}
            for entry in declared
            if step < len(raw_commands(entry))
        ]
        tasks.append(
            {
                'name': 'QMP command %d of each VM' % (step + 1),
                'ansible.builtin.command': {'argv': ['{{ ansible_playbook_python }}', QMP_SEND, '{{ item.socket }}', '{{ item.command }}']},
                'loop': items,
                'changed_when': True,
            }
        )
    return write_playbook(os.path.join(directory, 'raw.yml'), tasks)


def role_playbook(directory, declared):
    return write_playbook(
        os.path.join(directory, 'role.yml'), [{'ansible.builtin.include_role': {'name': 'stratovirt.qmp.vm_devices'}, 'vars': {'vm_devices_vms': declared}}]
    )


def timed(playbook, interpreter=sys.executable):
    command = [
        os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
        '-i',
        'localhost,',
        '-c',
        'local',
        '-e',
        'ansible_python_interpreter=' + interpreter,
        playbook,
    ]
    started = time.monotonic()
    completed = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    elapsed = time.monotonic() - started
    if completed.returncode:
        sys.stdout.write(completed.stdout[-3000:])
        raise SystemExit('benchmark: %s failed' % playbook)
    return elapsed


def measuring_interpreter(directory):
    """The wrapper interpreter (see the module docstring) and the log it appends ``ru_maxrss argv`` lines to."""
    log = os.path.join(directory, 'maxrss.log')
    path = os.path.join(directory, 'python-maxrss')
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(WRAPPER.format(python=sys.executable, log=log))
    os.chmod(path, 0o755)
    return path, log


def module_runs(log):
    """``(peak KiB, wall seconds)`` of each stratovirt_vms process the wrapper ran (of every process if none)."""
    with open(log, encoding='utf-8') as handle:
        lines = [line for line in handle if line.strip()]
    mine = [line for line in lines if 'AnsiballZ_stratovirt_vms' in line] or lines
    return [(int(line.split()[0]), float(line.split()[1])) for line in mine]


def peak_kib(log):
    return max(peak for peak, dummy_seconds in module_runs(log))


def delete_taps(declared):
    for entry in declared:
        for nic in entry['nics']:
            subprocess.run(['ip', 'tuntap', 'del', 'dev', nic['ifname'], 'mode', 'tap'], capture_output=True, check=False)


def run_one(args, count):
    with tempfile.TemporaryDirectory(prefix='stratovirt-fleet-') as workdir:
        raw_dir, role_dir = os.path.join(workdir, 'raw'), os.path.join(workdir, 'role')
        os.mkdir(raw_dir)
        os.mkdir(role_dir)
        vms = start_vms(args, raw_dir, count)
        declared = declare(raw_dir, vms, args.devices)
        try:
            raw = timed(raw_playbook(raw_dir, declared))
        finally:
            stop_vms(vms)
            delete_taps(declared)
        vms = start_vms(args, role_dir, count)
        declared = declare(role_dir, vms, args.devices)
        try:
            interpreter, log = measuring_interpreter(workdir)
            book = role_playbook(role_dir, declared)
            converge = timed(book, interpreter)
            rerun = timed(book)
            peak = peak_kib(log)
        finally:
            stop_vms(vms)
            delete_taps(declared)
    return {'vms': count, 'raw': raw, 'converge': converge, 'rerun': rerun, 'peak_mib': peak / 1024.0}


def slope(points):
    """Least-squares slope of (x, y) points."""
    mean_x = sum(x for x, dummy in points) / len(points)
    mean_y = sum(y for dummy, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, dummy in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread if spread else float('nan')


def report(rows, devices):
    print('VMs x %d devices | raw s | converge s | rerun s | converge/raw | rerun/raw | module peak MiB' % devices)
    for row in rows:
        print(
            '%4d | %6.1f | %6.2f | %6.2f | %.3f | %.3f | %.1f'
            % (row['vms'], row['raw'], row['converge'], row['rerun'], row['converge'] / row['raw'], row['rerun'] / row['raw'], row['peak_mib'])
        )
    if len(rows) > 1:
        for mode in ('raw', 'converge', 'rerun'):
            print('marginal cost per VM, %s: %.1f ms' % (mode, 1000 * slope([(row['vms'], row[mode]) for row in rows])))
    at = {row['vms']: row for row in rows}
    if TARGETS_AT in at:
        row = at[TARGETS_AT]
        print(
            'targets at N=%d: rerun/raw %.3f (<= 0.05), rerun %.2f s (<= 2), converge/raw %.3f (<= 0.08)'
            % (TARGETS_AT, row['rerun'] / row['raw'], row['rerun'], row['converge'] / row['raw'])
        )
    if 100 in at:
        print('target at N=100: module peak %.1f MiB (<= 60)' % at[100]['peak_mib'])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--vms', type=int, nargs='+', default=[10, 50, 100], help='numbers of VMs (one run each)')
    parser.add_argument('--devices', type=int, default=3, help='devices per VM')
    parser.add_argument('--stratovirt', help='a real StratoVirt binary (default: simulated VMs)')
    parser.add_argument('--kernel', help='with --stratovirt: the guest kernel')
    parser.add_argument('--rootfs', help='with --stratovirt: a root file system image (attached read-only)')
    args = parser.parse_args()
    if args.stratovirt and not args.kernel:
        parser.error('--stratovirt needs --kernel')
    rows = []
    for count in args.vms:
        rows.append(run_one(args, count))
        print(
            'N=%d: raw %.1f s, converge %.2f s, rerun %.2f s, module peak %.1f MiB'
            % (count, rows[-1]['raw'], rows[-1]['converge'], rows[-1]['rerun'], rows[-1]['peak_mib']),
            flush=True,
        )
    report(rows, args.devices)
    return 0


if __name__ == '__main__':
    sys.exit(main())
