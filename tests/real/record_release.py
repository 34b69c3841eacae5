# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record a real StratoVirt release by replaying the steps (sends) of an existing recording against its binary.

    python3 tests/real/record_release.py /path/to/stratovirt-2.3.0 micro|standard OUT.jsonl [--steps SOURCE.jsonl]

Every record of SOURCE (default: the 2.5.0 recording of that machine type in tests/fixtures/transcripts) is sent
as recorded, one client, a fresh VM (real_vm.py) per recorded VM number, and every line that comes back is written
byte for byte in the transcripts' format (tests/fixtures/transcripts/README.md). Image paths and the tap are this
host's while recording and are written as the recorded names (``/srv/vm/diskN.img``, ``tap0``), so the files read
like the others and the replay maps them back. Where SOURCE's reader kept listening N s, this one does too.

What cannot be reproduced is recorded as it really happens: a standard VM here boots OVMF, which never answers the
attention button, so the source's VMs with a cooperating guest become VMs where nobody acknowledges an unplug.
Needs root (the tap), /dev/kvm, as/ld/objcopy (micro) and OVMF (standard).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from real_vm import OVMF_CODE, RealVM, RealVMError, build_guest, missing_tools  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRANSCRIPTS = os.path.join(HERE, '..', 'fixtures', 'transcripts')
SOURCES = {'micro': 'stratovirt-2.5.0-microvm.jsonl', 'standard': 'stratovirt-2.5.0-standard.jsonl'}
RECORDED_TAPS = ('tap25', 'tap0')  # the source's tap names; written back as tap0
REPLY_WAIT = 3.0
QUIET = 0.3  # after the reply, how long the reader listens for events when the source did not say
PACE = 0.05  # StratoVirt throttles past 100 reads a second on one connection
LISTENING = re.compile(r'kept listening for (\d+) s')
# Source VMs whose guest acknowledged or blinked: the section says what this host ran instead.
NO_GUEST_HERE = 'replayed with OVMF, which never answers the attention button: no unplug is acknowledged'
# The source's VM 5 (standard): a disk cold-plugged at addr 0x1 of a root port.
COLD_AT_DEVFN8 = ['-drive', 'file={images}/disk4.img,id=cold-drv-a1,readonly=off,direct=off',
                  '-device', 'virtio-blk-pci,drive=cold-drv-a1,id=cold-blk-a1,bus=pcie.1,addr=0x1']  # fmt: skip


class Recorder:
    def __init__(self, binary: str, machine: str, source: List[dict], workdir: str, tap: str):
        self.binary, self.machine, self.source, self.workdir, self.tap = binary, machine, source, workdir, tap
        self.images = os.path.join(workdir, 'srv')
        self.guest: Dict[str, str] = {}
        self.vm: Optional[RealVM] = None
        self.vm_number: Optional[int] = None
        self.buffer = b''
        self.eof = False

    # -- names: this host's while recording, the recorded ones in the file -------------------------------------------

    def to_host(self, text: str) -> str:
        text = text.replace('/srv/vm', self.images)
        for recorded in RECORDED_TAPS:
            text = re.sub(r'\b%s\b' % recorded, self.tap, text)
        return text

    def to_recorded(self, text: str) -> str:
        if self.vm is not None and self.vm.folder:
            text = text.replace(self.vm.folder, '/srv/vm/%s' % self.vm.name)
        text = text.replace(self.images, '/srv/vm').replace(self.workdir + '/', '/srv/vm/')  # images, then the guest
        return text.replace(OVMF_CODE, '/srv/vm/OVMF_CODE.fd').replace(self.tap, 'tap0')

    # -- VMs ----------------------------------------------------------------------------------------------------------

    def prepare(self) -> None:
        os.makedirs(self.images)
        for number in range(8):
            with open(os.path.join(self.images, 'disk%d.img' % number), 'wb') as image:
                image.truncate(64 << 20)
        if self.machine == 'micro':
            self.guest = build_guest(self.workdir)

    def start_vm(self, number: int) -> str:
        self.stop_vm()
        extra = [arg.format(images=self.images) for arg in COLD_AT_DEVFN8] if self.machine == 'standard' and number == 5 else []
        name = 'qa' if self.machine == 'micro' else 'vm1'
        self.vm = RealVM(self.binary, self.machine, self.guest, extra, name=name).start(handshake=False)
        self.vm_number, self.buffer, self.eof = number, b'', False
        line = ['stratovirt'] + self.vm.command_line()[1:]
        line = line[: line.index('-daemonize')]  # the launcher's own flags, not the VM's
        return 'VM started as: %s; 64 MiB sparse images /srv/vm/disk0..7.img; tap0 pre-existing' % self.to_recorded(' '.join(line))

    def stop_vm(self) -> None:
        if self.vm is not None:
            if self.eof and self.vm.sock is not None:
                self.vm.sock.close()
                self.vm.sock = None
            try:
                self.vm.stop()
            except (OSError, RealVMError):
                pass
            self.vm = None

    # -- one record ---------------------------------------------------------------------------------------------------

    def read_line(self, wait: float) -> Optional[bytes]:
        assert self.vm is not None and self.vm.sock is not None
        deadline = time.monotonic() + wait
        while b'\n' not in self.buffer and not self.eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.vm.sock.settimeout(remaining)
            try:
                chunk = self.vm.sock.recv(65536)
            except socket.timeout:
                return None
            except OSError:
                chunk = b''
            if not chunk:
                self.eof = True
            self.buffer += chunk
        if b'\n' not in self.buffer:
            return None
        line, dummy, self.buffer = self.buffer.partition(b'\n')
        return line + b'\n'

    def record(self, source: dict) -> dict:
        out = {key: source[key] for key in ('vm', 'section', 'step', 'client')}
        notes = []
        if source['vm'] != self.vm_number:
            notes.append(self.start_vm(source['vm']))
        if self.machine == 'standard' and source['vm'] in (3, 4):
            out['section'] = 'VM %d: the steps of the 2.5.0 recording\'s VM %d, %s' % (source['vm'], source['vm'], NO_GUEST_HERE)
        assert self.vm is not None and self.vm.sock is not None
        out['send'] = source['send']
        listen = LISTENING.search(source.get('note') or '')
        seconds = int(listen.group(1)) if listen else None
        time.sleep(PACE)
        if source['send'] is not None and not self.eof:
            try:
                self.vm.sock.sendall(self.to_host(source['send']).encode())
            except OSError:
                self.eof = True
        recv: List[object] = []
        first = self.read_line(REPLY_WAIT)
        if first is not None:
            recv.append(first)
            window = seconds if seconds is not None else QUIET
            while True:
                more = self.read_line(window if seconds is None else max(0.0, window))
                if more is None:
                    break
                recv.append(more)
        if self.eof and not self.buffer:
            recv.append({'note': 'EOF: server closed the connection'})
        elif first is None:
            recv.append({'note': 'nothing within timeout (%g s)' % REPLY_WAIT})
        out['recv'] = [self.to_recorded(item.decode('utf-8')) if isinstance(item, bytes) else item for item in recv]
        if seconds is not None:
            notes.append('the reader kept listening for %d s after sending' % seconds)
        if self.eof:
            deadline = time.monotonic() + 3
            while self.vm.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if not self.vm.alive():
                out['vm_exited'] = True
        if notes:
            out['note'] = '; '.join(notes)
        return out

    def run(self) -> List[dict]:
        try:
            return [self.record(source) for source in self.source]
        finally:
            self.stop_vm()


def main(argv: List[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or '').split('\n', maxsplit=1)[0])
    parser.add_argument('binary')
    parser.add_argument('machine', choices=('micro', 'standard'))
    parser.add_argument('out')
    parser.add_argument('--steps', help='the recording whose sends are replayed')
    args = parser.parse_args(argv)
    lacking = missing_tools(args.machine)
    if lacking:
        print('cannot record: missing %s' % ', '.join(lacking), file=sys.stderr)
        return 2
    with open(args.steps or os.path.join(TRANSCRIPTS, SOURCES[args.machine]), encoding='utf-8') as handle:
        source = [json.loads(line) for line in handle if line.strip()]
    tap = 'svrec%d' % (os.getpid() % 100000)
    subprocess.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap'], check=True)
    try:
        with tempfile.TemporaryDirectory(prefix='svrecord-') as workdir:
            recorder = Recorder(os.path.abspath(args.binary), args.machine, source, workdir, tap)
            recorder.prepare()
            records = recorder.run()
    finally:
        subprocess.run(['ip', 'tuntap', 'del', 'dev', tap, 'mode', 'tap'], check=False)
    with open(args.out, 'w', encoding='utf-8') as handle:
        for record in records:
            handle.write(json.dumps(record) + '\n')
    print('%s: %d records, %d VMs' % (args.out, len(records), len({record['vm'] for record in records})))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
