# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start and stop simulated VMs from Python (tests, benchmarks, the demo)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from typing import List, Optional

_TAP_NUMBERS = itertools.count()

SIMULATOR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'run_simulator.py')


class SimulatedVM:
    """One simulator process; construction does nothing, :meth:`start` launches it."""

    def __init__(
        self, socket_path: str, profile: str = '2.1.0', machine: str = 'microvm', options: Optional[List[str]] = None, cmdline: Optional[List[str]] = None
    ) -> None:
        self.socket_path = socket_path
        self.profile = profile
        self.machine = machine
        self.options = list(options or [])
        self.cmdline = list(cmdline or [])
        self.pidfile = socket_path + '.pid'
        self.stderr_path = socket_path + '.stderr'
        self.process: Optional[subprocess.Popen] = None

    @property
    def argv(self) -> List[str]:
        argv = [
            sys.executable,
            SIMULATOR,
            '--socket',
            self.socket_path,
            '--profile',
            self.profile,
            '--machine',
            self.machine,
            '--pidfile',
            self.pidfile,
        ] + self.options
        # The monitor as StratoVirt's command line names it (what a listing of the host's VMs reads), unless the
        # command line given names one itself.
        monitor = [] if '-qmp' in self.cmdline else ['-qmp', qmp_option(self.socket_path)]
        return argv + ['--'] + self.cmdline + monitor

    def start(self, timeout: float = 10.0) -> 'SimulatedVM':
        for path in (self.pidfile,):
            if os.path.exists(path):
                os.unlink(path)
        with open(self.stderr_path, 'wb') as stderr:
            self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.pidfile):
            if self.process.poll() is not None:
                raise RuntimeError('simulator exited with %s: %s' % (self.process.returncode, self.stderr()))
            if time.monotonic() > deadline:
                raise RuntimeError('simulator did not start within %ss' % timeout)
            time.sleep(0.01)
        return self

    @property
    def pid(self) -> int:
        return self._started().pid

    def _started(self) -> subprocess.Popen:
        if self.process is None:
            raise RuntimeError('the simulator was not started')
        return self.process

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_exit(self, timeout: float = 5.0) -> Optional[int]:
        try:
            return self._started().wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stderr(self) -> str:
        try:
            with open(self.stderr_path, encoding='utf-8', errors='replace') as handle:
                return handle.read()
        except FileNotFoundError:
            return ''

    def stop(self) -> None:
        if self.alive():
            process = self._started()
            process.send_signal(signal.SIGTERM)
            if self.wait_exit(5.0) is None:
                process.kill()
                process.wait()


def qmp_option(socket_path: str) -> str:
    """The value of StratoVirt's ``-qmp`` for a Unix socket monitor (``server`` and ``nowait`` are mandatory)."""
    return 'unix:%s,server,nowait' % socket_path


def new_tap_name(prefix: str = 'svn') -> str:
    """A tap name unique to this process that does not exist yet (at most 15 characters)."""
    return '%s%d_%d' % (prefix, os.getpid() % 100000, next(_TAP_NUMBERS))
