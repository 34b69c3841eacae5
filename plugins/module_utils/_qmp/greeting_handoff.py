# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep a QMP connection open until its greeting has arrived.

Private to the stratovirt.qmp collection: may change in any release.

Real StratoVirt 2.1.0 panics, and the whole VM dies, when it writes a greeting
to a client that has gone. A client that gave up waiting for its greeting
(because another client holds the monitor, or the VM has not started serving
it yet) must therefore not close its socket. The module process is about to
exit, so the socket is handed to a detached grandchild that waits for the
greeting, or for the VM to go away, and only then closes it.
"""

from __future__ import annotations

import os
import socket

# Bounds nothing but a wedged VM: the waiter ends as soon as the greeting or EOF arrives.
LINGER_SECONDS = 24 * 3600.0


def _wait_then_close(sock: socket.socket) -> None:
    try:
        sock.settimeout(LINGER_SECONDS)
        sock.recv(4096)
    except OSError:
        pass
    sock.close()


def _detach_stdio() -> None:
    # An Ansible connection waits for the module's stdout and stderr to close.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _close_other_fds(keep: int) -> None:
    # The waiter inherited every descriptor of the module: other QMP connections and the VM lock among them.
    try:
        fds = [int(name) for name in os.listdir('/proc/self/fd')]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                os.close(fd)
            except OSError:
                pass


def hand_over_until_greeting(sock: socket.socket) -> None:
    """Give ``sock`` to a detached process that closes it only after the greeting or EOF.

    The caller's copy is closed; the connection itself stays open in the waiter.
    If forking is impossible, wait here instead: blocking beats killing the VM.
    """
    try:
        pid = os.fork()
    except OSError:
        _wait_then_close(sock)
        return
    if pid:
        sock.close()
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _detach_stdio()
        _close_other_fds(sock.fileno())
        _wait_then_close(sock)
    finally:
        os._exit(0)
