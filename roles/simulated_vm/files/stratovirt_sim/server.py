# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The QMP socket side of the simulator: StratoVirt's connection and framing rules.

One client at a time (later ones wait in the listen backlog, ungreeted); the
server end of a gone client stays open until the next accept; everything read
in one go is one JSON document; a batch over 8 KiB is refused; more than 100
reads a second are throttled; a greeting written to a gone client, like a
type-mismatched ``device_add`` on 2.1.0, kills the process.

Events a guest raises later (``DEVICE_DELETED`` of a standard VM) come from the
machine's timers, run inside this loop: the socket is only ever written by it.
"""

from __future__ import annotations

import collections
import json
import os
import select
import socket
import sys
import time
from typing import Callable, Dict, List, Optional, Protocol

from .outcome import Outcome
from .json_reader import SerdeError
from .schemas import decode_command

MAX_BATCH = 8192
THROTTLE_LIMIT = 100
NO_ID_ECHO = ('qmp_capabilities', 'block-commit')
PANIC_EXIT_CODE = 101


class Faults:
    """Test hooks, all off by default."""

    def __init__(
        self,
        drop_after: Optional[int] = None,
        delay: float = 0.0,
        withhold_events=(),
        fail_commands=None,
        accept_delay: float = 0.0,
        drop_reply_on: Optional[str] = None,
    ) -> None:
        self.drop_after = drop_after
        # Once: act on the first command of this name, then drop the connection before its reply, as when the
        # client is killed once its command has reached the VM (the VM keeps what it did; its events are lost).
        self.drop_reply_on = drop_reply_on
        self.delay = delay
        self.withhold_events = set(withhold_events)
        self.fail_commands = dict(fail_commands or {})
        self.accept_delay = accept_delay


def dumps(value) -> str:
    """serde_json output: compact, non-ASCII kept; ``return`` maps come out key-sorted (no preserve_order)."""
    return json.dumps(value, separators=(',', ':'), ensure_ascii=False, sort_keys=True)


class Timers(Protocol):
    """What the server asks a machine whose guest raises events later (a standard VM)."""

    def next_deadline(self) -> Optional[float]:
        """:returns: the ``time.monotonic()`` at which an event is next due, or None."""

    def fire(self, now: float) -> List[dict]:
        """Act on everything due by ``now``; :returns: the events to send."""


class Server:
    def __init__(self, socket_path: str, profile, dispatch: Callable[[str, dict], Outcome], faults: Faults, record_path: Optional[str] = None) -> None:
        self.socket_path = socket_path
        self.profile = profile
        self.dispatch = dispatch
        self.faults = faults
        self.record_path = record_path
        self.listener: Optional[socket.socket] = None
        self.client: Optional[socket.socket] = None
        self.stale: Optional[socket.socket] = None
        self.reads: collections.deque = collections.deque()
        self.answered = 0
        self.timers: Optional[Timers] = None  # set for a machine with guest-driven events
        self.hung = False

    # -- lifecycle --------------------------------------------------------

    def bind(self) -> None:
        if os.path.lexists(self.socket_path):
            os.unlink(self.socket_path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        listener.listen(16)
        self.listener = listener

    def _listening(self) -> socket.socket:
        assert self.listener is not None, 'bound before serving'
        return self.listener

    def _connected(self) -> socket.socket:
        assert self.client is not None, 'called while a client is connected'
        return self.client

    def remove_socket(self) -> None:
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass

    def panic(self, message: str) -> None:
        """Die like a Rust panic: message on stderr, socket gone, exit code 101."""
        sys.stderr.write(message + '\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n')
        sys.stderr.flush()
        self.remove_socket()
        os._exit(PANIC_EXIT_CODE)

    def serve_forever(self) -> None:
        if self.faults.accept_delay:
            time.sleep(self.faults.accept_delay)
        while not self.hung:
            self._fire_timers()
            watched = self._listening() if self.client is None else self.client
            poller = select.poll()
            poller.register(watched, select.POLLIN)
            ready = poller.poll(self._poll_timeout_ms())
            if not ready:
                continue
            if self.client is None:
                self._accept()
            else:
                self._serve_client(ready[0][1])
        # A deadlocked main thread: nothing is read, answered, accepted or sent any more; only a signal ends it.
        while True:
            time.sleep(3600)

    def _poll_timeout_ms(self) -> Optional[int]:
        deadline = self.timers.next_deadline() if self.timers else None
        if deadline is None:
            return None
        return max(0, int((deadline - time.monotonic()) * 1000) + 1)

    def _fire_timers(self) -> None:
        deadline = self.timers.next_deadline() if self.timers else None
        if deadline is None or deadline > time.monotonic():
            return
        assert self.timers is not None  # a deadline came from them
        for ev in self.timers.fire(time.monotonic()):
            # With no client connected the event is lost, as StratoVirt's QMP channel drops it.
            if ev['event'] not in self.faults.withhold_events:
                self._send_event(ev)

    # -- connections ------------------------------------------------------

    def _accept(self) -> None:
        conn, dummy = self._listening().accept()
        if self.stale is not None:
            self.stale.close()
            self.stale = None
        greeting = {'QMP': {'version': {'qemu': {'micro': 1, 'minor': 0, 'major': 5}, 'package': self.profile.greeting_package}, 'capabilities': []}}
        try:
            self._write(conn, json.dumps(greeting, separators=(',', ':')) + '\r\n')
        except OSError:
            self.panic(
                "thread 'main' panicked at 'called `Result::unwrap()` on an `Err` value: "
                "Os { code: 32, kind: BrokenPipe, message: \"Broken pipe\" }', machine_manager/src/socket.rs:176:50"
            )
        self.client = conn
        self.reads.clear()
        self.answered = 0

    def _client_gone(self) -> None:
        # StratoVirt keeps its end of a finished connection open until it accepts the next client.
        self.stale, self.client = self.client, None

    def _serve_client(self, flags: int) -> None:
        if flags & (select.POLLHUP | select.POLLERR):
            self._client_gone()
            return
        data, eof = self._read_available()
        if self._throttled():
            self._reply_line({'error': {'class': 'OperationThrottled', 'desc': 'More than 100 requests received during 1 second'}}, b'\n')
            return
        if eof and not data:
            # A half-closed peer stays readable forever; StratoVirt answers every empty read.
            self._reply_line({'error': {'class': 'GenericError', 'desc': 'EOF while parsing a value at line 1 column 0'}}, self.profile.serde_error_ending)
            return
        self._record('received', data.decode('utf-8', 'replace'))
        if self.faults.drop_after is not None and self.answered >= self.faults.drop_after:
            # Once only: the VM goes on serving, as after a client that died mid-command.
            self.faults.drop_after = None
            self._connected().close()
            self.client = None
            return
        self._handle_batch(data)
        self.answered += 1

    def _drops_reply(self, name: str) -> bool:
        if self.faults.drop_reply_on is None or name != self.faults.drop_reply_on:
            return False
        self.faults.drop_reply_on = None
        self._connected().close()
        self.client = None
        return True

    def _read_available(self):
        chunks = []
        eof = False
        while True:
            try:
                chunk = self._connected().recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except OSError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
        return b''.join(chunks), eof

    def _throttled(self) -> bool:
        now = time.monotonic()
        while self.reads and now - self.reads[0] >= 1.0:
            self.reads.popleft()
        if len(self.reads) >= THROTTLE_LIMIT:
            return True
        self.reads.append(now)
        return False

    # -- commands ---------------------------------------------------------

    def _handle_batch(self, data: bytes) -> None:
        if len(data) > MAX_BATCH:
            self._reply_line({'error': {'class': 'GenericError', 'desc': self.profile.too_long}}, b'\r\n')
            return
        try:
            decoded = decode_command(data.decode('utf-8', 'replace').strip(), self.profile.release)
        except SerdeError as exc:
            self._reply_line({'error': {'class': 'GenericError', 'desc': exc.desc}}, self.profile.serde_error_ending)
            return
        outcome = self._run(decoded.execute, decoded.arguments or {})
        if outcome.panic:
            self.panic(outcome.panic)
        if outcome.hang:
            self.hung = True
            return
        if self._drops_reply(decoded.execute):
            return
        reply: Dict[str, object] = {'return': outcome.value} if outcome.error is None else {'error': {'class': outcome.error_class, 'desc': outcome.error}}
        if isinstance(decoded.id, str) and decoded.execute not in NO_ID_ECHO:
            reply['id'] = decoded.id
        events = [ev for ev in outcome.events if ev['event'] not in self.faults.withhold_events]
        before = events if self.profile.event_before_reply and not outcome.shutdown else []
        for ev in before:
            self._send_event(ev)
        if self.faults.delay:
            time.sleep(self.faults.delay)
        self._reply_line(reply, b'\r\n')
        for ev in events:
            if ev not in before:
                self._send_event(ev)
        if outcome.shutdown:
            raise SystemExit(0)

    def _run(self, name: str, arguments: dict) -> Outcome:
        if name in self.faults.fail_commands:
            return Outcome(error=self.faults.fail_commands[name])
        return self.dispatch(name, arguments)

    # -- output -----------------------------------------------------------

    def _reply_line(self, reply: dict, ending: bytes) -> None:
        if 'return' in reply:
            text = '{"return":%s%s}' % (dumps(reply['return']), ',"id":%s' % dumps(reply['id']) if 'id' in reply else '')
        else:
            error = reply['error']
            text = '{"error":{"class":%s,"desc":%s}%s}' % (
                dumps(error['class']),
                dumps(error['desc']),
                ',"id":%s' % dumps(reply['id']) if 'id' in reply else '',
            )
        self._send(text + ending.decode())

    def _send_event(self, ev: dict) -> None:
        text = '{"event":%s,"data":%s,"timestamp":{"seconds":%d,"microseconds":%d}}\r\n' % (
            dumps(ev['event']),
            json.dumps(ev['data'], separators=(',', ':'), ensure_ascii=False),
            ev['timestamp']['seconds'],
            ev['timestamp']['microseconds'],
        )
        self._send(text)

    def _send(self, text: str) -> None:
        if self.client is None:
            return
        try:
            self._write(self.client, text)
        except OSError:
            self._client_gone()

    def _write(self, conn: socket.socket, text: str) -> None:
        conn.sendall(text.encode('utf-8'))
        self._record('sent', text)

    def _record(self, direction: str, text: str) -> None:
        if self.record_path:
            with open(self.record_path, 'a', encoding='utf-8') as record:
                record.write(json.dumps({direction: text, 'time': time.time()}) + '\n')
