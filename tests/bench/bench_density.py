# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Density benchmark (not a test): hundreds of micro VMs on one host, converged by one stratovirt_vms call.

    PYTHONPATH=<dir holding ansible_collections>:<simulator dir> .venv/bin/python tests/bench/bench_density.py \
        [--vms 100 500 1000] [--workers 4 ...] [--stratovirt PATH] [--profile]

For each N, on N fresh micro VMs (simulated StratoVirt 2.1.0, or real ones with --stratovirt: each boots the
bare-metal guest that tests/real/real_vm.py builds), each declared with 2 disks + 1 NIC (a tap StratoVirt creates):
1. converge: the role stratovirt.qmp.vm_devices (one stratovirt_vms call for the host), with each --workers count
   (fresh VMs for each count);
2. rerun:    the role again, nothing to change.
Prints the wall times, the cost per VM at each N, the slope of wall time over N (least squares), the converge cost
per VM at the largest N over that at the smallest, and the module's peak memory and wall time (measured as
bench_fleet.py does: ru_maxrss of the very process that ran the module, and how long it ran; the rest of a converge is
ansible-playbook's own). Then the targets of issue 20 when N = 100 and 1,000 were run.

--profile: instead, one in-process converge of the largest N with one worker under cProfile (the module's own work,
without Ansible's), printing the functions where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from stratovirt_sim.control import SimulatedVM, new_tap_name

from bench_fleet import measuring_interpreter, module_runs, role_playbook, slope, timed

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'real'))
from real_vm import RealVM, build_guest  # noqa: E402  pylint: disable=wrong-import-position

DISKS = 2
STARTERS = 8  # VMs started at a time: a VM's start is mostly waiting for its socket
TARGETS = {'converge_s': 30.0, 'rerun_s': 15.0, 'slope_ratio': 1.5, 'peak_mib': 150.0}


class BenchRealVM(RealVM):
    """A real StratoVirt micro VM whose monitor is left free for the module (real_vm.RealVM keeps a session open)."""

    def start(self, timeout: float = 30.0) -> 'BenchRealVM':
        super().start(timeout)
        assert self.sock is not None
        self.sock.close()  # after the greeting and qmp_capabilities: StratoVirt survives a client that has read them
        self.sock = None
        return self

    def stop(self) -> None:
        if self.pid is not None and self.alive():
            os.kill(self.pid, signal.SIGTERM)
        super().stop()  # waits, SIGKILLs a VM still there after 5 s, removes its folder


def start_vms(args, directory, count, guest):
    def start(number):
        if args.stratovirt:
            return BenchRealVM(args.stratovirt, 'micro', guest, name='vm%d' % number).start()
        return SimulatedVM(os.path.join(directory, 'vm%d.sock' % number), cmdline=['-name', 'vm%d' % number]).start(60.0)

    vms = []
    with ThreadPoolExecutor(STARTERS) as pool:
        futures = [pool.submit(start, number) for number in range(count)]
        failure = None
        for future in futures:
            try:
                vms.append(future.result())
            except Exception as exc:  # pylint: disable=broad-except
                failure = failure or exc
    if failure is not None:
        stop_vms(vms)
        raise failure
    return vms


def stop_vms(vms):
    with ThreadPoolExecutor(STARTERS) as pool:
        list(pool.map(lambda vm: vm.stop(), vms))


def declare(directory, vms):
    declared = []
    for number, vm in enumerate(vms):
        entry = {'name': 'vm%d' % number, 'socket': vm.socket_path, 'disks': [], 'nics': []}
        for disk in range(DISKS):
            path = os.path.join(directory, 'vm%d-disk%d.img' % (number, disk))
            with open(path, 'wb') as image:
                image.truncate(16 * 1024 * 1024)
            entry['disks'].append({'id': 'drive-%d' % disk, 'path': path})
        entry['nics'].append({'id': 'net-0', 'ifname': new_tap_name('svd'), 'create_tap': True})
        declared.append(entry)
    return declared


def load():
    return '%.2f %.2f %.2f' % os.getloadavg()


def measure(args, count, workers, guest):
    """Converge and rerun of ``count`` fresh VMs with ``workers`` threads: their wall times and the module's peak."""
    with tempfile.TemporaryDirectory(prefix='stratovirt-density-') as workdir:
        vms = start_vms(args, workdir, count, guest)
        try:
            declared = declare(workdir, vms)
            interpreter, log = measuring_interpreter(workdir)
            book = role_playbook(workdir, declared)
            load_before = load()
            if workers is not None:
                book = with_workers(book, workers)
            converge = timed(book, interpreter)
            rerun = timed(book)
            peak, module_seconds = max(module_runs(log))
            return {
                'vms': count,
                'workers': workers,
                'converge': converge,
                'rerun': rerun,
                'module': module_seconds,
                'peak_mib': peak / 1024.0,
                'load': load_before,
            }
        finally:
            stop_vms(vms)


def with_workers(book, workers):
    """The playbook with ``vm_devices_workers`` set (a copy next to it)."""
    path = '%s.w%d.yml' % (book, workers)
    if not os.path.exists(path):
        with open(book, encoding='utf-8') as source, open(path, 'w', encoding='utf-8') as copy:
            copy.write(source.read().replace('"vars": {', '"vars": {"vm_devices_workers": %d, ' % workers, 1))
    return path


def profile(args, count, guest):
    """One converge of ``count`` VMs in this process, one worker (cProfile sees only the thread it runs in)."""
    from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.host_vms import Fleet  # pylint: disable=import-outside-toplevel
    from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import all_kinds  # pylint: disable=import-outside-toplevel
    from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.vms import validated_vms  # pylint: disable=import-outside-toplevel

    with tempfile.TemporaryDirectory(prefix='stratovirt-density-') as workdir:
        vms = start_vms(args, workdir, count, guest)
        try:
            checked, problems = validated_vms(declare(workdir, vms))
            assert not problems, problems
            fleet = Fleet(checked, tuple(kind.name for kind in all_kinds()), False, 1)
            profiler = cProfile.Profile()
            started = time.monotonic()
            result = profiler.runcall(fleet.run)
            elapsed = time.monotonic() - started
            if result['failed_vms']:
                raise SystemExit('benchmark: %d VMs failed: %s' % (len(result['failed_vms']), result['msg'][:500]))
            print('converge of N=%d in process, 1 worker, under cProfile: %.2f s (load %s)' % (count, elapsed, load()))
            stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
            stats.sort_stats('cumulative').print_stats(30)
            stats.sort_stats('tottime').print_stats(15)
        finally:
            stop_vms(vms)


def report(rows):
    print('N VMs x (2 disks + 1 NIC) | workers | converge s | per VM ms | of which module s | rerun s | per VM ms | module peak MiB | load before')
    for row in rows:
        print(
            '%5d | %2s | %7.2f | %6.1f | %6.2f | %6.2f | %6.1f | %6.1f | %s'
            % (
                row['vms'],
                row['workers'] or 'default',
                row['converge'],
                1000 * row['converge'] / row['vms'],
                row['module'],
                row['rerun'],
                1000 * row['rerun'] / row['vms'],
                row['peak_mib'],
                row['load'],
            )
        )
    for workers in sorted({row['workers'] or 0 for row in rows}):
        mine = [row for row in rows if (row['workers'] or 0) == workers]
        if len({row['vms'] for row in mine}) < 2:
            continue
        label = workers or 'default'
        for mode in ('converge', 'rerun'):
            print('workers %s: slope of %s wall time over N: %.1f ms per VM' % (label, mode, 1000 * slope([(row['vms'], row[mode]) for row in mine])))
        by_n = {row['vms']: row for row in mine}
        small, large = by_n[min(by_n)], by_n[max(by_n)]
        ratio = (large['converge'] / large['vms']) / (small['converge'] / small['vms'])
        print('workers %s: converge cost per VM at N=%d over N=%d: %.2f' % (label, large['vms'], small['vms'], ratio))
        if 1000 in by_n and 100 in by_n:
            at = by_n[1000]
            print(
                'targets at N=1000 (workers %s): converge %.1f s (<= %.0f), rerun %.1f s (<= %.0f), per-VM ratio to N=100 %.2f (<= %.1f), '
                'module peak %.1f MiB (<= %.0f MB)'
                % (
                    label,
                    at['converge'],
                    TARGETS['converge_s'],
                    at['rerun'],
                    TARGETS['rerun_s'],
                    ratio,
                    TARGETS['slope_ratio'],
                    at['peak_mib'],
                    TARGETS['peak_mib'],
                )
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--vms', type=int, nargs='+', default=[100, 500, 1000], help='numbers of VMs (fresh VMs for each)')
    parser.add_argument('--workers', type=int, nargs='+', default=None, help="worker counts to measure (default: the module's default)")
    parser.add_argument('--stratovirt', help='a real StratoVirt binary: real micro VMs instead of simulated ones')
    parser.add_argument('--profile', action='store_true', help='profile one in-process converge of the largest N instead')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='stratovirt-density-guest-') as guest_dir:
        guest = build_guest(guest_dir) if args.stratovirt else None
        if args.profile:
            profile(args, max(args.vms), guest)
            return 0
        rows = []
        for count in args.vms:
            for workers in args.workers or [None]:
                rows.append(measure(args, count, workers, guest))
                row = rows[-1]
                print(
                    'N=%d workers %s: converge %.2f s (module %.2f s), rerun %.2f s, module peak %.1f MiB (load before %s)'
                    % (count, workers or 'default', row['converge'], row['module'], row['rerun'], row['peak_mib'], row['load']),
                    flush=True,
                )
        report(rows)
    return 0


if __name__ == '__main__':
    sys.exit(main())
