# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replay a recorded StratoVirt QMP transcript against the simulator, byte for byte.

    python3 tests/replay/replay.py [TRANSCRIPT]   # prints "replay: N/M identical"

Every record is sent as recorded (same bytes, same writes, same clients) to a
fresh simulator per recorded VM process; what comes back is compared with the
recording once timestamps and thread ids are masked. Image paths and tap names
are rewritten to this machine's, on both sides alike.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, NamedTuple, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'simulator'))

from simctl import SimulatedVM  # noqa: E402  pylint: disable=wrong-import-position

SHARED = os.environ.get('STRATOVIRT_SHARED', os.path.join(HERE, '..', '..', '..', 'shared'))
DEFAULT_TRANSCRIPT = os.path.join(SHARED, 'transcripts', 'stratovirt-2.1.0-microvm.jsonl')
PACE = 0.02                 # StratoVirt throttles past 100 reads a second; the recording paced likewise
QUIET_WAIT = 0.4            # how long "nothing within timeout" is watched
REPLY_WAIT = 3.0

# Records not replayed as recorded, each with its reason (they count as not identical).
EXCEPTIONS = {
    140: 'VM 4 ran with RUST_BACKTRACE=1, a launch mistake (transcripts README); not behaviour to simulate',
    141: 'VM 4 ran with RUST_BACKTRACE=1, a launch mistake (transcripts README); not behaviour to simulate',
    142: 'VM 4 ran with RUST_BACKTRACE=1, a launch mistake (transcripts README); not behaviour to simulate',
    129: 'the burst of connect/close probes before it is a race that real StratoVirt lost in 1 of 2 such runs; '
         'c4 is replayed without the probes',
}
# The recording leaves earlier clients open where a new one is greeted at once; since StratoVirt greets only
# when the previous client has gone, those clients had closed (between sections) before these records.
IMPLIED_CLOSE_BEFORE = {112: ['c1'], 129: ['c3']}
NOT_REPLAYED = (140, 141, 142)

MASKS = [
    (re.compile(r'"timestamp":\{"seconds":\d+,"microseconds":\d+\}'), '"timestamp":{"seconds":S,"microseconds":U}'),
    (re.compile(r'"thread_id":\d+'), '"thread_id":T'),
]


def mask(text: str) -> str:
    for pattern, replacement in MASKS:
        text = pattern.sub(replacement, text)
    return text


class Result(NamedTuple):
    index: int
    identical: bool
    detail: str


class Host:
    """Stand-ins for the recording host's files and taps."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.images = os.path.join(workdir, 'srv')
        tag = '%04d' % (os.getpid() % 10000)
        self.renames = {'/srv/vm': self.images, 'svnotap9': 'svrn%s' % tag, 'tap0': 'svrp%s' % tag}
        self.persistent_taps = ['svrp%s' % tag]

    def prepare(self) -> None:
        os.makedirs(self.images, exist_ok=True)
        for number in range(8):
            with open(os.path.join(self.images, 'disk%d.img' % number), 'wb') as image:
                image.truncate(64 * 1024 * 1024)
        for tap in self.persistent_taps:
            subprocess.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'], check=True)

    def cleanup(self) -> None:
        for tap in self.persistent_taps:
            subprocess.run(['ip', 'tuntap', 'del', 'dev', tap, 'mode', 'tap'], check=False, capture_output=True)

    def rewrite(self, text: str) -> str:
        for old, new in self.renames.items():
            text = text.replace(old, new)
        return text


class Replayer:
    def __init__(self, records: List[dict], host: Host) -> None:
        self.records = records
        self.host = host
        self.vm: Optional[SimulatedVM] = None
        self.vm_number: Optional[int] = None
        self.clients: Dict[str, socket.socket] = {}
        self.buffers: Dict[str, bytes] = {}

    def run(self) -> List[Result]:
        results = []
        try:
            for index, record in enumerate(self.records):
                if index in NOT_REPLAYED:
                    results.append(Result(index, False, 'listed: ' + EXCEPTIONS[index]))
                    continue
                try:
                    detail = self.step(index, record)
                except (OSError, RuntimeError) as exc:
                    detail = 'error: %s' % exc
                identical = detail == '' and index not in EXCEPTIONS
                results.append(Result(index, identical, detail or ('listed: ' + EXCEPTIONS.get(index, ''))))
        finally:
            self.stop_vm()
        return results

    # -- VM and clients ---------------------------------------------------

    def start_vm(self, number: int) -> None:
        self.stop_vm()
        sock = os.path.join(self.host.workdir, 'vm%d.sock' % number)
        self.vm = SimulatedVM(sock, '2.1.0', 'microvm').start()
        self.vm_number = number

    def stop_vm(self) -> None:
        for conn in self.clients.values():
            conn.close()
        self.clients.clear()
        self.buffers.clear()
        if self.vm is not None:
            self.vm.stop()
            self.vm = None

    def close_client(self, name: str) -> None:
        conn = self.clients.pop(name, None)
        if conn is not None:
            conn.close()

    # -- one record -------------------------------------------------------

    def step(self, index: int, record: dict) -> str:
        if record['vm'] != self.vm_number:
            self.start_vm(record['vm'])
        for name in record.get('close_before', []) + IMPLIED_CLOSE_BEFORE.get(index, []):
            self.close_client(name)
        time.sleep(PACE)
        name = record['client']
        if name not in self.clients:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.connect(self.vm.socket_path)
            self.clients[name] = conn
            self.buffers[name] = b''
        conn = self.clients[name]
        if record.get('send') is not None:
            conn.sendall(self.host.rewrite(record['send']).encode())
        for part_number, part in enumerate(record.get('send_parts') or []):
            if part_number:
                time.sleep(0.1)
            conn.sendall(self.host.rewrite(part).encode())
        detail = self.compare(name, record['recv'])
        for closing in record.get('close_after', []):
            self.close_client(closing)
        if record.get('vm_exited'):
            detail = detail or self.check_exited()
        return detail

    def check_exited(self) -> str:
        code = self.vm.wait_exit(3.0)
        if code is None:
            return 'VM did not exit'
        if os.path.exists(self.vm.socket_path):
            return 'VM exited but left its socket'
        return ''

    def compare(self, name: str, expected: List[object]) -> str:
        lines = [item for item in expected if isinstance(item, str)]
        notes = [item['note'] for item in expected if isinstance(item, dict)]
        got = [self.read_line(name, REPLY_WAIT) for dummy in lines]
        for want, have in zip(lines, got):
            if have is None or mask(have) != mask(self.host.rewrite(want)):
                return 'expected %r, got %r' % (want, have)
        for note in notes:
            if note.startswith('nothing within timeout'):
                extra = self.read_line(name, QUIET_WAIT)
                if extra is not None:
                    return 'expected nothing, got %r' % extra
            elif note.startswith('EOF'):
                if not self.at_eof(name):
                    return 'expected EOF'
        return ''

    def read_line(self, name: str, wait: float) -> Optional[str]:
        conn = self.clients[name]
        deadline = time.monotonic() + wait
        while b'\n' not in self.buffers[name]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            conn.settimeout(remaining)
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buffers[name] += chunk
        line, dummy, rest = self.buffers[name].partition(b'\n')
        self.buffers[name] = rest
        return (line + b'\n').decode('utf-8')

    def at_eof(self, name: str) -> bool:
        conn = self.clients[name]
        conn.settimeout(REPLY_WAIT)
        try:
            return conn.recv(1) == b'' and not self.buffers[name]
        except OSError:
            return True


def replay(transcript: str = DEFAULT_TRANSCRIPT) -> List[Result]:
    with open(transcript, encoding='utf-8') as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    with tempfile.TemporaryDirectory(prefix='svreplay-') as workdir:
        host = Host(workdir)
        try:
            host.prepare()
            return Replayer(records, host).run()
        finally:
            host.cleanup()


def figure(results: List[Result]) -> str:
    return 'replay: %d/%d identical' % (sum(result.identical for result in results), len(results))


def main(argv: List[str]) -> int:
    results = replay(argv[0] if argv else DEFAULT_TRANSCRIPT)
    for result in results:
        if not result.identical:
            print('  record %d: %s' % (result.index, result.detail))
    print(figure(results))
    unexpected = [result for result in results if not result.identical and result.index not in EXCEPTIONS]
    return 1 if unexpected else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
