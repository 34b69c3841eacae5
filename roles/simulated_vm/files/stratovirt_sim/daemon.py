# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the simulator in the background and stop it again, each returning only when it is done.

``--daemon`` returns once the socket listens (the child says so on a pipe), so that a playbook or
a script can use the VM at once; ``--stop`` returns once the process has gone.
"""

from __future__ import annotations

import os
import signal
import stat
import sys
import time
from typing import List, Optional

READY_FD = 'STRATOVIRT_SIM_READY_FD'
STOP_TIMEOUT = 10.0


class DaemonError(Exception):
    """The simulator did not start, or could not be stopped."""


def daemonize(log_path: str) -> None:
    """Detach (double fork, new session, stdio to ``log_path``); the caller's process returns only in the daemon.

    The first process stays to report: it exits 0 once the daemon calls :func:`announce_ready`, or 1 with
    the daemon's log when the daemon exits before that.
    """
    read_end, write_end = os.pipe()
    first = os.fork()
    if first:
        os.close(write_end)
        os.waitpid(first, 0)
        sys.exit(_wait_ready(read_end, log_path))
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)  # pylint: disable=protected-access
    os.set_inheritable(write_end, True)  # survives the re-exec of --root-ports
    os.environ[READY_FD] = str(write_end)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
    null_fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null_fd, 0)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(null_fd)
    os.close(log_fd)


def _wait_ready(read_end: int, log_path: str) -> int:
    with os.fdopen(read_end, 'rb') as pipe:
        said = pipe.read()
    if said.startswith(b'ready '):
        sys.stdout.write(said.decode('ascii'))
        return 0
    try:
        with open(log_path, encoding='utf-8', errors='replace') as log:
            tail = log.read()[-2000:]
    except OSError:
        tail = ''
    sys.stderr.write('stratovirt_sim: the simulator exited before it listened\n%s' % tail)
    return 1


def announce_ready() -> None:
    """Tell the waiting first process that the socket listens (a no-op when not started with ``--daemon``)."""
    fd_text = os.environ.pop(READY_FD, None)
    if fd_text is None:
        return
    with os.fdopen(int(fd_text), 'wb') as pipe:
        pipe.write(b'ready %d\n' % os.getpid())


def running_pid(pidfile: str) -> Optional[int]:
    """The pid of the simulator that ``pidfile`` names, if it still runs (not a stale file, not a reused pid)."""
    try:
        with open(pidfile, encoding='ascii') as handle:
            pid = int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _is_simulator(pid, pidfile) else None


def stop(pidfile: str, timeout: float = STOP_TIMEOUT) -> Optional[int]:
    """SIGTERM the simulator named by ``pidfile`` (SIGKILL after ``timeout``), wait until it has gone, remove the file.

    A pidfile whose process is gone, or is no longer this simulator (a reused pid), is only removed; so is a
    socket that a killed simulator left.

    :returns: the pid stopped, or None when nothing ran.
    :raises DaemonError: the process outlived SIGKILL.
    """
    pid = running_pid(pidfile)
    if pid is not None:
        socket_path = _socket_of(pid)
        for signum in (signal.SIGTERM, signal.SIGKILL):
            _signal(pid, signum)
            deadline = time.monotonic() + timeout
            while _running(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
            if not _running(pid):
                break
        else:
            raise DaemonError('simulator pid %d did not exit' % pid)
        if socket_path and os.path.exists(socket_path) and stat.S_ISSOCK(os.lstat(socket_path).st_mode):
            os.unlink(socket_path)
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    return pid


def _argv(pid: int) -> List[bytes]:
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read().split(b'\0')
    except OSError:
        return []


def _socket_of(pid: int) -> Optional[str]:
    argv = _argv(pid)
    if b'--socket' in argv[:-1]:
        return os.fsdecode(argv[argv.index(b'--socket') + 1])
    return None


def _is_simulator(pid: int, pidfile: str) -> bool:
    return os.fsencode(pidfile) in _argv(pid) and _running(pid)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a detached simulator's parent may be slow to reap it)."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            state = handle.read().rsplit(b')', 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in (b'Z', b'X')


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
