# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small blocking QMP client that respects what real StratoVirt needs.

Private to the stratovirt.qmp collection: may change in any release.
Standard library only and no Ansible imports: it runs on hypervisor hosts
(Python 3.8+) and is usable on its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import time

from .errors import (
    QMPBusyError,
    QMPCommandError,
    QMPConnectionError,
    QMPDisconnectedError,
    QMPProtocolError,
    QMPTimeoutError,
)
from .monitor_usage import UnixDiagError, monitor_usage
from .socket_holders import SECOND_MONITOR_NOTE, describe_holders, socket_holders
from .unix_socket import ROLE_CONNECTED
from .lock import VMLock

# StratoVirt parses everything it reads in one go as one JSON value and rejects more than 8 KiB.
MAX_COMMAND_BYTES = 8192
# StratoVirt discards input past 100 reads a second on one connection; the discarded command never ran.
THROTTLED_CLASS = 'OperationThrottled'
THROTTLED_RETRY_DELAY = 1.0
RECV_CHUNK = 65536


def _validate_greeting(message: object) -> dict:
    """Check the greeting at QMP-spec level only: StratoVirt says ``"qemu"`` 5.0.1 in it."""
    if not isinstance(message, dict) or not isinstance(message.get('QMP'), dict):
        raise QMPProtocolError('expected a QMP greeting, got %s' % json.dumps(message)[:200])
    body = message['QMP']
    if not isinstance(body.get('version'), dict) or not isinstance(body.get('capabilities'), list):
        raise QMPProtocolError('malformed QMP greeting: %s' % json.dumps(message)[:200])
    return body


def encode_command(command: dict) -> bytes:
    """Serialise one command as StratoVirt wants it: compact JSON, one line, under 8 KiB.

    :raises QMPProtocolError: the command is too large to be sent in one read.
    """
    data = json.dumps(command, separators=(',', ':')).encode('utf-8') + b'\n'
    if len(data) > MAX_COMMAND_BYTES:
        raise QMPProtocolError('command %s is %d bytes; StratoVirt accepts at most %d' % (command.get('execute'), len(data), MAX_COMMAND_BYTES))
    return data


def check_socket_file(socket_path: str) -> None:
    """Refuse a monitor path that does not exist, is not a Unix socket (a regular file, a directory), or is one of
    several hard links to one socket.

    :raises QMPConnectionError:
    """
    try:
        found = os.stat(socket_path)
        mode = found.st_mode
    except FileNotFoundError:
        raise QMPConnectionError(
            'QMP socket %s does not exist: is the VM running and is this the path given to -qmp unix:...?' % socket_path, socket_path
        ) from None
    except OSError as exc:
        raise QMPConnectionError('QMP socket %s cannot be inspected (%s)' % (socket_path, exc.strerror or exc), socket_path) from exc
    if not stat.S_ISSOCK(mode):
        raise QMPConnectionError('%s is not a Unix socket; give the path of the VM\'s -qmp unix: socket' % socket_path, socket_path)
    if found.st_nlink > 1:
        # The per-VM lock and the device record are named after the socket's real path: under two names one VM
        # would get two locks and two records, and two runs could drive it at once.
        raise QMPConnectionError(
            'QMP socket %s has %d hard links: the collection keys its per-VM lock and device record by the socket\'s '
            'path, so one monitor under two names could be driven by two runs at once. Remove the extra link and use '
            'the path StratoVirt was given (-qmp unix:...)' % (socket_path, found.st_nlink),
            socket_path,
        )


class QMPClient:
    """One QMP connection to one monitor socket.

    Construction does no I/O. :meth:`connect` checks that nobody else uses the
    monitor, connects and reads the greeting; :meth:`execute` sends one command
    and waits for its reply; every event read meanwhile is kept in :attr:`events`.

    :param socket_path: the VM's QMP Unix socket.
    :param timeout: seconds allowed for the greeting and for each reply.
    """

    def __init__(self, socket_path: str, timeout: float = 10.0) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self.greeting: dict | None = None
        self.events: list[dict] = []
        self.sent: list[dict] = []
        self._sock: socket.socket | None = None
        self._buffer = b''
        self._peer_spoke = False

    # -- connection -------------------------------------------------------

    def check_monitor_free(self) -> None:
        """Refuse a monitor that is missing, not a socket, unserved or in use, without connecting.

        :raises QMPConnectionError: not a socket, or nothing listens on it.
        :raises QMPBusyError: another client is connected or queued.
        """
        check_socket_file(self.socket_path)
        try:
            usage = monitor_usage(self.socket_path)
        except UnixDiagError as exc:
            raise QMPConnectionError('cannot inspect QMP socket %s: %s' % (self.socket_path, exc), self.socket_path) from exc
        if not usage.listening:
            raise QMPConnectionError('nothing listens on QMP socket %s (stale socket file of a VM that has exited?)' % self.socket_path, self.socket_path)
        if usage.in_use:
            holders = socket_holders(entry.peer_inode for entry in usage.entries if entry.peer_inode and entry.role == ROLE_CONNECTED)
            held = describe_holders(holders)
            raise QMPBusyError(
                'QMP monitor of %s is in use by another client (%s%s); StratoVirt serves one client at '
                'a time, so wait until it disconnects; %s' % (self.socket_path, usage.reason, '; ' + held if held else '', SECOND_MONITOR_NOTE),
                self.socket_path,
                holders,
            )

    def connect(self) -> dict:
        """Connect and read the greeting.

        The connection is never closed before its greeting has arrived: real
        StratoVirt dies when it greets a peer that has gone. If no greeting comes
        in time, the connection is handed to a background waiter that closes it
        only after the greeting.

        :returns: the ``QMP`` member of the greeting.
        :raises QMPConnectionError, QMPBusyError, QMPTimeoutError, QMPProtocolError:
        """
        self.check_monitor_free()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except OSError as exc:
            sock.close()
            raise QMPConnectionError('cannot connect to QMP socket %s: %s' % (self.socket_path, exc.strerror or exc), self.socket_path) from exc
        self._sock = sock
        try:
            self.greeting = _validate_greeting(self._read_message(time.monotonic() + self.timeout))
        except QMPTimeoutError:
            self._abandon_before_greeting()
            raise QMPTimeoutError(
                'no QMP greeting from %s within %ss: another client holds the monitor or the VM '
                'has not started serving it yet; the connection was left to wait for the greeting '
                'in the background so that the VM is not harmed' % (self.socket_path, self.timeout),
                self.socket_path,
            ) from None
        except BaseException:  # whatever interrupts us, a greeting-less socket must not be closed
            self._abandon_before_greeting()
            raise
        return self.greeting

    def _abandon_before_greeting(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if self._peer_spoke:
            sock.close()
        else:
            from .greeting_handoff import hand_over_until_greeting  # pylint: disable=import-outside-toplevel

            hand_over_until_greeting(sock)

    @property
    def connection(self) -> socket.socket:
        """The connected socket, for host-side facts such as the peer's pid (``SO_PEERCRED``)."""
        if self._sock is None:
            raise QMPConnectionError('not connected to %s' % self.socket_path, self.socket_path)
        return self._sock

    def close(self) -> None:
        """Close the connection (never a half-close: StratoVirt spins on a half-closed peer)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def __enter__(self) -> QMPClient:
        self.connect()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- reading ----------------------------------------------------------

    def _read_message(self, deadline: float) -> object:
        """Read the next JSON message; split on ``\\n`` and strip ``\\r`` (serde errors end in ``\\n`` only)."""
        while True:
            line, sep, rest = self._buffer.partition(b'\n')
            if sep:
                self._buffer = rest
                line = line.strip()
                if not line:
                    continue
                try:
                    return json.loads(line.decode('utf-8'))
                except ValueError as exc:
                    raise QMPProtocolError('invalid JSON from %s: %r' % (self.socket_path, line[:200]), self.socket_path) from exc
            self._fill(deadline)

    def _fill(self, deadline: float) -> None:
        if self._sock is None:
            raise QMPConnectionError('not connected to %s' % self.socket_path, self.socket_path)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise QMPTimeoutError('timed out after %ss waiting for %s' % (self.timeout, self.socket_path), self.socket_path)
        self._sock.settimeout(remaining)
        try:
            chunk = self._sock.recv(RECV_CHUNK)
        except socket.timeout:
            raise QMPTimeoutError('timed out after %ss waiting for %s' % (self.timeout, self.socket_path), self.socket_path) from None
        except OSError as exc:
            raise QMPDisconnectedError('connection to %s failed: %s' % (self.socket_path, exc), self.socket_path) from exc
        self._peer_spoke = True
        if not chunk:
            raise QMPDisconnectedError('QMP connection to %s closed by the peer (did the VM exit?)' % self.socket_path, self.socket_path)
        self._buffer += chunk

    def _read_reply(self, deadline: float) -> dict:
        while True:
            message = self._read_message(deadline)
            if not isinstance(message, dict):
                raise QMPProtocolError('unexpected QMP message from %s: %s' % (self.socket_path, json.dumps(message)[:200]), self.socket_path)
            if 'event' in message:
                self.events.append(message)
                continue
            if 'return' in message or 'error' in message:
                return message
            raise QMPProtocolError('unexpected QMP message from %s: %s' % (self.socket_path, json.dumps(message)[:200]), self.socket_path)

    # -- commands and events ----------------------------------------------

    def execute(self, name: str, arguments: dict | None = None) -> object:
        """Send one command and wait for its reply; events read meanwhile go to :attr:`events`.

        No ``id`` is sent: commands are strictly one at a time, so the next non-event line is the reply.

        :returns: the ``return`` member of the reply.
        :raises QMPCommandError: the reply was an error (``error_class``, ``desc`` and the command are kept).
        :raises QMPTimeoutError, QMPDisconnectedError, QMPProtocolError:
        """
        command: dict = {'execute': name}
        if arguments is not None:
            command['arguments'] = arguments
        data = encode_command(command)
        reply = self._exchange(command, data)
        if reply.get('error', {}).get('class') == THROTTLED_CLASS:
            time.sleep(THROTTLED_RETRY_DELAY)
            reply = self._exchange(command, data)
        if 'error' in reply:
            error = reply['error'] if isinstance(reply['error'], dict) else {}
            raise QMPCommandError(str(error.get('class', '')), str(error.get('desc', '')), command, self.socket_path)
        return reply.get('return')

    def _exchange(self, command: dict, data: bytes) -> dict:
        if self._sock is None:
            raise QMPConnectionError('not connected to %s' % self.socket_path, self.socket_path)
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise QMPDisconnectedError('cannot send %s to %s: %s' % (command['execute'], self.socket_path, exc), self.socket_path) from exc
        self.sent.append(command)
        return self._read_reply(time.monotonic() + self.timeout)

    def take_event(self, name: str, device: str | None = None) -> dict | None:
        """Remove and return the first buffered event called ``name`` (for ``device``, when given)."""
        for index, event in enumerate(self.events):
            if event.get('event') == name and (device is None or (event.get('data') or {}).get('device') == device):
                return self.events.pop(index)
        return None

    def wait_event(self, name: str, device: str | None = None, timeout: float | None = None) -> dict:
        """Wait for an event, whether it came before the reply (StratoVirt up to 2.4) or after it (2.5+).

        :raises QMPTimeoutError: it did not come within ``timeout`` (default: the client's timeout).
        """
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            event = self.take_event(name, device)
            if event is not None:
                return event
            try:
                message = self._read_message(deadline)
            except QMPTimeoutError:
                raise QMPTimeoutError(
                    'no %s event%s from %s within %ss' % (name, ' for %s' % device if device else '', self.socket_path, wait), self.socket_path
                ) from None
            if not isinstance(message, dict) or 'event' not in message:
                raise QMPProtocolError('unexpected QMP message while waiting for %s: %s' % (name, json.dumps(message)[:200]), self.socket_path)
            self.events.append(message)


@contextlib.contextmanager
def qmp_session(socket_path: str, timeout: float = 10.0, lock_timeout: float | None = None):
    """Hold the per-VM lock, connect, yield the connected :class:`QMPClient`, then close and unlock.

    :param timeout: for the greeting and each reply.
    :param lock_timeout: for the lock, which a peer's session may hold far longer than one reply (``timeout`` if None).

    :raises QMPLockTimeout: another run of this collection holds the VM.
    :raises QMPError: see :meth:`QMPClient.connect`.
    """
    # Before the lock: a path that is no socket must not get a <path>.lock next to it.
    check_socket_file(socket_path)
    with VMLock(socket_path, timeout if lock_timeout is None else lock_timeout):
        client = QMPClient(socket_path, timeout)
        client.connect()
        try:
            yield client
        finally:
            client.close()
