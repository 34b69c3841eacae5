# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replay a recorded StratoVirt QMP transcript against the simulator, byte for byte.

    python3 tests/replay/replay.py [TRANSCRIPT]   # prints "replay: N/M identical"

Every record is sent as recorded (same bytes, same writes, same clients) to a
fresh simulator per recorded VM process; what comes back is compared with the
recording once timestamps and thread ids are masked. Image paths and tap names
are rewritten to this machine's, on both sides alike. The profile and machine
come from the file name (``stratovirt-<release>-<machine>.jsonl``); each
standard VM is started as recorded (root ports, cold-plugged devices) with the
guest model its notes describe.

Where a record says its reader kept listening N s, the replay listens
min(N, STRATOVIRT_REPLAY_LISTEN) s (default 1) for anything more; records it
listens to for less than recorded are listed as exceptions.
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
from typing import Dict, List, NamedTuple, Optional, Tuple

from stratovirt_sim.control import SimulatedVM

HERE = os.path.dirname(os.path.abspath(__file__))

TRANSCRIPTS = os.path.join(HERE, '..', 'fixtures', 'transcripts')
DEFAULT_TRANSCRIPT = os.path.join(TRANSCRIPTS, 'stratovirt-2.1.0-microvm.jsonl')
PACE = 0.02  # StratoVirt throttles past 100 reads a second; the recording paced likewise
QUIET_WAIT = 0.4  # how long "nothing within timeout" is watched
REPLY_WAIT = 3.0
LISTEN_CAP = float(os.environ.get('STRATOVIRT_REPLAY_LISTEN', '1'))
LISTENING = re.compile(r'kept listening for (\d+) s')

# Records not replayed as recorded, each with its reason (they count as not identical).
EXCEPTIONS = {
    140: 'VM 4 ran with RUST_BACKTRACE=1, a launch mistake (tests/fixtures/transcripts/README.md); not behaviour to simulate',
    141: 'VM 4 ran with RUST_BACKTRACE=1, a launch mistake (tests/fixtures/transcripts/README.md); not behaviour to simulate',
    142: 'VM 4 ran with RUST_BACKTRACE=1, a launch mistake (tests/fixtures/transcripts/README.md); not behaviour to simulate',
    129: 'the burst of connect/close probes before it is a race that real StratoVirt lost in 1 of 2 such runs; c4 is replayed without the probes',
}
# The recording leaves earlier clients open where a new one is greeted at once; since StratoVirt greets only
# when the previous client has gone, those clients had closed (between sections) before these records.
IMPLIED_CLOSE_BEFORE = {112: ['c1'], 129: ['c3']}
NOT_REPLAYED = (140, 141, 142)

# -- standard VMs (launch lines from tests/fixtures/transcripts/README.md and the records' sections) --------------------------

STANDARD_BASE = [
    '-name',
    'vm1',
    '-machine',
    'q35',
    '-smp',
    '1',
    '-m',
    '512',
    '-drive',
    'file=/srv/vm/OVMF_CODE.fd,if=pflash,unit=0,readonly=true',
    '-drive',
    'file=/srv/vm/OVMF_VARS.fd,if=pflash,unit=1',
    '-device',
    'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3',
    '-device',
    'pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x4',
    '-drive',
    'file=/srv/vm/disk3.img,id=rootfs,readonly=off,direct=off',
]
# 2.1.0 VM 3: which images backed its two cold drives is not recorded; any free ones do (2.1.0 opens them at plug).
COLD_PAIR_21 = [
    '-global',
    'pcie-root-port.fast-unplug=1',
    '-drive',
    'file=/srv/vm/disk4.img,id=cold-drv-1,readonly=off,direct=off',
    '-device',
    'virtio-blk-pci,drive=cold-drv-1,id=cold-blk-1,bus=pcie.1,addr=0x0',
    '-drive',
    'file=/srv/vm/disk5.img,id=cold-drv-0,readonly=off,direct=off',
    '-device',
    'virtio-blk-pci,drive=cold-drv-0,id=cold-blk-0,bus=pcie.0,addr=0x5',
]
COLD_AT_DEVFN8_25 = [
    '-drive',
    'file=/srv/vm/disk4.img,id=cold-drv-a1,readonly=off,direct=off',
    '-device',
    'virtio-blk-pci,drive=cold-drv-a1,id=cold-blk-a1,bus=pcie.1,addr=0x1',
]
# The pciehp-like guest powered slots off "within milliseconds".
ACK_DELAY = '0.005'


class Plan(NamedTuple):
    """How to replay one transcript."""

    profile: str
    machine: str
    exceptions: Dict[int, str]
    implied_close_before: Dict[int, List[str]]
    not_replayed: Tuple[int, ...]
    taps: Dict[str, str]  # recorded tap name -> prefix of this machine's stand-in
    persistent_taps: Tuple[str, ...]  # recorded taps that existed on the host beforehand
    launches: Dict[int, Tuple[List[str], List[str]]]  # VM number -> (simulator options, command line)


def _standard(guest: str, extra: Optional[List[str]] = None) -> Tuple[List[str], List[str]]:
    return ['--guest', guest, '--guest-ack-delay', ACK_DELAY], STANDARD_BASE + (extra or [])


PLANS = {
    ('2.1.0', 'microvm'): Plan('2.1.0', 'microvm', EXCEPTIONS, IMPLIED_CLOSE_BEFORE, NOT_REPLAYED, {'svnotap9': 'svrn', 'tap0': 'svrp'}, ('tap0',), {}),
    ('2.5.0', 'microvm'): Plan('2.5.0', 'microvm', {}, {}, (), {'tap0': 'svru'}, ('tap0',), {}),
    # VMs 1-3: the firmware had stopped, nobody answers the attention button; VM 4: the pciehp-like guest.
    ('2.1.0', 'standard'): Plan(
        '2.1.0',
        'standard',
        {},
        {},
        (),
        {'tap1': 'svrs'},
        ('tap1',),
        {1: _standard('deaf'), 2: _standard('deaf'), 3: _standard('deaf', COLD_PAIR_21), 4: _standard('ack')},
    ),
    # VMs 1, 2 and 5: no guest; VM 3: the pciehp-like guest; VM 4: the guest that only blinks the indicator.
    ('2.5.0', 'standard'): Plan(
        '2.5.0',
        'standard',
        {},
        {},
        (),
        {'tap25': 'svrt'},
        ('tap25',),
        {1: _standard('deaf'), 2: _standard('deaf'), 3: _standard('ack'), 4: _standard('blink'), 5: _standard('deaf', COLD_AT_DEVFN8_25)},
    ),
}
# 2.2.0, 2.3.0 and 2.4.0: the 2.5.0 recordings' steps replayed on each real binary (tests/real/record_release.py).
# A standard VM there booted OVMF, which answers no attention button: every VM is 'deaf', VM 5 as 2.5.0's.
for _release, _prefix in (('2.2.0', 'svra'), ('2.3.0', 'svrb'), ('2.4.0', 'svrc')):
    PLANS[(_release, 'microvm')] = Plan(_release, 'microvm', {}, {}, (), {'tap0': _prefix + 'm'}, ('tap0',), {})
    PLANS[(_release, 'standard')] = Plan(
        _release,
        'standard',
        {},
        {},
        (),
        {'tap0': _prefix + 's'},
        ('tap0',),
        {1: _standard('deaf'), 2: _standard('deaf'), 3: _standard('deaf'), 4: _standard('deaf'), 5: _standard('deaf', COLD_AT_DEVFN8_25)},
    )


# -- the resource recordings: seven VMs each, micro or q35, launched as tests/fixtures/transcripts/README.md says -------


def _micro(smp: str, extra: Optional[List[str]] = None) -> Tuple[List[str], List[str]]:
    return ['--machine', 'microvm'], ['-name', 'res', '-machine', 'microvm', '-smp', smp, '-m', '256'] + (extra or [])


def _q35(smp: str, extra: Optional[List[str]] = None) -> Tuple[List[str], List[str]]:
    options, cmdline = _standard('deaf', extra)
    return ['--machine', 'q35'] + options, [smp if value == '1' and cmdline[index - 1] == '-smp' else value for index, value in enumerate(cmdline)]


def _resource_launches(release: str) -> Dict[int, Tuple[List[str], List[str]]]:
    smp = '1' if release == '2.1.0' else 'cpus=1,maxcpus=4'  # 2.1.0 refuses maxcpus at launch
    second_monitor = ['-chardev', 'socket,id=mon1,path=/srv/vm/mon/mon.sock,server,nowait', '-mon', 'chardev=mon1,id=monitor1,mode=control']
    balloon_id = '' if release == '2.1.0' else 'id=balloon0,'
    return {
        1: _q35(smp, ['-chardev', 'socket,id=mon1,path=/srv/vm/cpu/mon.sock,server,nowait', '-mon', 'chardev=mon1,id=monitor1,mode=control']),
        2: _micro(smp, ['-device', 'virtio-balloon-device,%sdeflate-on-oom=true' % balloon_id]),
        3: _q35('1', ['-device', 'virtio-balloon-pci,id=balloon0,bus=pcie.2,addr=0x0,deflate-on-oom=true']),
        4: _q35('1'),
        5: _micro('1', second_monitor),
        6: _q35('1', ['-object', 'iothread,id=iothread0']),
        7: _micro('1', ['-object', 'iothread,id=iothread0']),
    }


for _release in ('2.1.0', '2.5.0'):
    PLANS[(_release, 'resources')] = Plan(_release, 'standard', {}, {}, (), {}, (), _resource_launches(_release))
RESOURCE_PLANS = (PLANS[('2.1.0', 'resources')], PLANS[('2.5.0', 'resources')])

# What the collection sends of the resource recordings is replayed (query-cpus, query-hotpluggable-cpus, query-balloon,
# balloon, query-iothreads, the introspection stubs); the rest is not sent, each for its reason.
WHY_NOT_SENT = {
    'cpu': 'a vCPU device_add: not simulated, the collection refuses vCPU hot-plug before sending (it is missing or hangs the VM)',
    'hung': 'after the vCPU hot-plug that hung the VM for good: SIGTERM and SIGKILL from the recording host, not simulated',
    'passthrough': 'chardev, vhost-user or VFIO: not simulated, the collection refuses their hot-plug before sending',
    'second monitor': 'a second monitor socket (-mon): the simulator serves one monitor; the collection reports such a VM busy instead',
    'balloon removal': 'device_del of the cold-plugged balloon: the simulator models no balloon as a removable device',
}
HARMLESS = ('qmp_capabilities', 'query-status', 'quit')


def why_not_sent(record: dict, after_hang: bool) -> Optional[str]:
    """Why a record of a resource recording is not replayed, or None when it is."""
    send = record.get('send') or ''
    if after_hang:
        return WHY_NOT_SENT['hung']
    if record['section'].startswith('d:'):
        return WHY_NOT_SENT['second monitor']
    if 'generic-x86-cpu' in send:
        return WHY_NOT_SENT['cpu']
    if record['section'].startswith('c:') and send and not any('"%s"' % name in send for name in HARMLESS):
        return WHY_NOT_SENT['passthrough']
    if '"device_del","arguments":{"id":"balloon0"}' in send:
        return WHY_NOT_SENT['balloon removal']
    return None


def resource_plan(plan: Plan, records: List[dict]) -> Plan:
    """A resource recording's plan with the records not replayed listed: they are not sent, each with its reason."""
    if plan not in RESOURCE_PLANS:
        return plan
    skipped: Dict[int, str] = {}
    hung_vm = None
    for index, record in enumerate(records):
        send = record.get('send') or ''
        reason = why_not_sent(record, record['vm'] == hung_vm)
        if reason:
            skipped[index] = reason
        if 'generic-x86-cpu' in send and record['recv'] == ['{"return":{}}\r\n']:
            hung_vm = record['vm']  # the first valid vCPU hot-plug of 2.5.0 q35: nothing answers after it
    return plan._replace(exceptions={**plan.exceptions, **skipped}, not_replayed=tuple(sorted(skipped)))


def plan_for(transcript: str) -> Plan:
    match = re.search(r'stratovirt-(\d+\.\d+\.\d+)-(microvm|standard|resources)\.jsonl$', transcript)
    if not match or (match.group(1), match.group(2)) not in PLANS:
        raise ValueError('no replay plan for %s' % transcript)
    return PLANS[(match.group(1), match.group(2))]


def listen_seconds(record: dict) -> Optional[int]:
    """How long the recording's reader kept listening after this record, if the note says."""
    match = LISTENING.search(record.get('note') or '')
    return int(match.group(1)) if match else None


def exceptions_of(plan: Plan, records: List[dict]) -> Dict[int, str]:
    """The plan's listed records plus every record listened to for less time than recorded."""
    listed = dict(plan.exceptions)
    for index, record in enumerate(records):
        seconds = listen_seconds(record)
        if seconds is not None and seconds > LISTEN_CAP and index not in listed:
            listed[index] = 'its reader listened %d s for anything more; the replay listens %g s (STRATOVIRT_REPLAY_LISTEN=%d replays it faithfully)' % (
                seconds,
                LISTEN_CAP,
                seconds,
            )
    return listed


MASKS = [
    (re.compile(r'"timestamp":\{"seconds":\d+,"microseconds":\d+\}'), '"timestamp":{"seconds":S,"microseconds":U}'),
    (re.compile(r'"thread_id":\d+'), '"thread_id":T'),
    (re.compile(r'"thread-id":\d+'), '"thread-id":T'),  # query-iothreads; a vCPU's props say "thread-id":0 and mask alike
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

    def __init__(self, workdir: str, plan: Plan = PLANS[('2.1.0', 'microvm')]) -> None:
        self.workdir = workdir
        self.images = os.path.join(workdir, 'srv')
        tag = '%04d' % (os.getpid() % 10000)
        self.renames = {'/srv/vm': self.images}
        self.renames.update({recorded: prefix + tag for recorded, prefix in plan.taps.items()})
        self.persistent_taps = [self.renames[recorded] for recorded in plan.persistent_taps]

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
    def __init__(self, records: List[dict], host: Host, plan: Plan = PLANS[('2.1.0', 'microvm')]) -> None:
        self.records = records
        self.host = host
        self.plan = plan._replace(exceptions=exceptions_of(plan, records))
        self.vm: Optional[SimulatedVM] = None
        self.vm_number: Optional[int] = None
        self.clients: Dict[str, socket.socket] = {}
        self.buffers: Dict[str, bytes] = {}

    def run(self) -> List[Result]:
        results = []
        try:
            for index, record in enumerate(self.records):
                if index in self.plan.not_replayed:
                    results.append(Result(index, False, 'listed: ' + self.plan.exceptions[index]))
                    continue
                try:
                    detail = self.step(index, record)
                except (OSError, RuntimeError) as exc:
                    detail = 'error: %s' % exc
                # A listed record still counts as a difference, and any real difference in it is reported as such.
                identical = detail == '' and index not in self.plan.exceptions
                results.append(Result(index, identical, detail or ('listed: ' + self.plan.exceptions.get(index, ''))))
        finally:
            self.stop_vm()
        return results

    # -- VM and clients ---------------------------------------------------

    def start_vm(self, number: int) -> None:
        self.stop_vm()
        sock = os.path.join(self.host.workdir, 'vm%d.sock' % number)
        options, cmdline = self.plan.launches.get(number, ([], []))
        cmdline = [self.host.rewrite(arg) for arg in cmdline]
        self.vm = SimulatedVM(sock, self.plan.profile, self.plan.machine, options, cmdline).start()
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
        for name in record.get('close_before', []) + self.plan.implied_close_before.get(index, []):
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
        detail = self.compare(name, record['recv'], listen_seconds(record))
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

    def compare(self, name: str, expected: List[object], listened: Optional[int] = None) -> str:
        lines = [item for item in expected if isinstance(item, str)]
        notes = [item['note'] for item in expected if isinstance(item, dict)]
        got = [self.read_line(name, REPLY_WAIT) for dummy in lines]
        for want, have in zip(lines, got):
            if have is None or mask(have) != mask(self.host.rewrite(want)):
                return 'expected %r, got %r' % (want, have)
        quiet = QUIET_WAIT if listened is None else min(listened, LISTEN_CAP)
        for note in notes:
            if note.startswith('nothing within timeout'):
                extra = self.read_line(name, quiet)
                if extra is not None:
                    return 'expected nothing, got %r' % extra
                listened = None
            elif note.startswith('EOF'):
                if not self.at_eof(name):
                    return 'expected EOF'
        if listened is not None:
            extra = self.read_line(name, quiet)
            if extra is not None:
                return 'expected nothing more within %g s, got %r' % (quiet, extra)
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


def load(transcript: str) -> List[dict]:
    with open(transcript, encoding='utf-8') as handle:
        return [json.loads(line) for line in handle if line.strip()]


def replay(transcript: str = DEFAULT_TRANSCRIPT) -> List[Result]:
    records = load(transcript)
    plan = resource_plan(plan_for(transcript), records)
    with tempfile.TemporaryDirectory(prefix='svreplay-') as workdir:
        host = Host(workdir, plan)
        try:
            host.prepare()
            return Replayer(records, host, plan).run()
        finally:
            host.cleanup()


def listed_exceptions(transcript: str = DEFAULT_TRANSCRIPT) -> Dict[int, str]:
    """Every record of ``transcript`` not replayed faithfully, with its reason."""
    records = load(transcript)
    return exceptions_of(resource_plan(plan_for(transcript), records), records)


def unexpected(results: List[Result]) -> List[Result]:
    """Differences nobody listed: a listed record that differs in what it does replay counts too."""
    return [result for result in results if not result.identical and not result.detail.startswith('listed: ')]


def figure(results: List[Result]) -> str:
    return 'replay: %d/%d identical' % (sum(result.identical for result in results), len(results))


def main(argv: List[str]) -> int:
    results = replay(argv[0] if argv else DEFAULT_TRANSCRIPT)
    for result in results:
        if not result.identical:
            print('  record %d: %s' % (result.index, result.detail))
    print(figure(results))
    return 1 if unexpected(results) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
