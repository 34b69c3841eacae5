# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Measure what real StratoVirt releases do with each hot-plug option, value type and behaviour the collection
relies on, and print the table.

    python3 tests/real/probe_release.py /path/to/stratovirt [/path/to/another/stratovirt ...] [--json FILE]

Each case runs in a throwaway VM of its own (micro or standard, real_vm.py), started from the binary given,
so one case cannot disturb another. A case sends raw QMP, nothing of the collection, and names what it
measured: ``honoured`` (the VM read the value: a value it must refuse was refused), ``ignored`` (a value it must
refuse if it read it was taken), ``refused`` (the key or command is not taken), or the reply text itself. The
release data of the collection (plugins/module_utils, OPTIONS_SINCE, VALUE_TYPES, BEHAVIOURS, REPLIES) is checked
against this table by hand: docs/stratovirt-qmp.md, section "Measured on every release", holds the last run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import Callable, Dict, List, NamedTuple, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from real_vm import RealVM, RealVMError, build_guest, missing_tools  # noqa: E402

IOTHREAD = ['-object', 'iothread,id=io1']


class Case(NamedTuple):
    name: str  # what the collection relies on, named as in the release data
    machine: str
    run: Callable[['Probe'], str]  # :returns: the outcome in a few words
    extra_args: List[str] = []


def desc(reply: dict) -> Optional[str]:
    return reply.get('error', {}).get('desc') if 'error' in reply else None


def outcome(reply: dict, honoured_if_refused: bool = False) -> str:
    text = desc(reply)
    if text is None:
        return 'ignored (taken)' if honoured_if_refused else 'taken'
    return ('honoured (refused: %s)' if honoured_if_refused else 'refused: %s') % text


class Probe:
    """One case's VM and images."""

    def __init__(self, vm: RealVM, folder: str):
        self.vm, self.folder = vm, folder

    def image(self, name: str, content: bytes = b'', size: int = 64 << 20) -> str:
        path = os.path.join(self.folder, name)
        with open(path, 'wb') as handle:
            handle.write(content)
            handle.truncate(max(size, len(content)))
        return path

    def backend(self, node: str, path: str, **extra) -> dict:
        arguments = {'node-name': node, 'file': {'driver': 'file', 'filename': path}, 'cache': {'direct': False}}
        file_extra = extra.pop('file_extra', {})
        arguments['file'].update(file_extra)
        arguments.update(extra)
        return self.vm.execute('blockdev-add', arguments)

    def disk(self, node: str, place: int = 1, **extra) -> dict:
        if self.vm.machine == 'micro':
            arguments = {'id': node, 'driver': 'virtio-blk-mmio', 'addr': '0x%x' % place, 'drive': node}
        else:
            arguments = {'id': node, 'driver': 'virtio-blk-pci', 'drive': node, 'bus': 'pcie.%d' % place, 'addr': '0x0'}
        arguments.update(extra)
        return self.vm.execute('device_add', arguments)

    def plug_disk(self, node: str, place: int = 1, backend_extra=None, **device_extra) -> str:
        """Backend then device; :returns: where it stopped and why."""
        added = self.backend(node, self.image(node + '.img'), **(backend_extra or {}))
        if desc(added) is not None:
            return 'blockdev-add refused: %s' % desc(added)
        plugged = self.disk(node, place, **device_extra)
        return 'plugged' if desc(plugged) is None else 'device_add refused: %s' % desc(plugged)


# -- the cases ------------------------------------------------------------------------------------------------------


def qcow2_driver(probe: Probe) -> str:
    # A qcow2 magic with an impossible version: a release that reads qcow2 must refuse it.
    corrupt = probe.image('corrupt.qcow2', b'QFI\xfb' + (99).to_bytes(4, 'big'), size=65536)
    added = probe.backend('drive-1', corrupt, driver='qcow2')
    if desc(added) is not None:
        return 'refused at blockdev-add: %s' % desc(added)
    plugged = probe.disk('drive-1')
    return 'honoured (corrupt header refused: %s)' % desc(plugged) if desc(plugged) else 'ignored (opened raw)'


def backend_value(key: str, bad: object) -> Callable[[Probe], str]:
    def run(probe: Probe) -> str:
        result = probe.plug_disk('drive-1', backend_extra={key: bad})
        return 'ignored (taken)' if result == 'plugged' else 'honoured (%s)' % result

    return run


def device_value(key: str, bad: object) -> Callable[[Probe], str]:
    def run(probe: Probe) -> str:
        result = probe.plug_disk('drive-1', **{key: bad})
        return 'ignored (taken)' if result == 'plugged' else 'honoured (%s)' % result

    return run


def aio_key(probe: Probe) -> str:
    result = probe.plug_disk('drive-1', backend_extra={'file_extra': {'aio': 'native'}, 'cache': {'direct': True}})
    return 'taken' if result == 'plugged' else result


def aio_off_with_direct(probe: Probe) -> str:
    result = probe.plug_disk('drive-1', backend_extra={'file_extra': {'aio': 'off'}, 'cache': {'direct': True}})
    return 'taken' if result == 'plugged' else result


def opens_image_at_blockdev_add(probe: Probe) -> str:
    added = probe.backend('drive-1', os.path.join(probe.folder, 'missing.img'))
    if desc(added) is not None:
        return 'yes (blockdev-add refused: %s)' % desc(added)
    plugged = probe.disk('drive-1')
    return 'no (device_add: %s)' % (desc(plugged) or 'taken')


def micro_device_without_drive(probe: Probe) -> str:
    probe.backend('drive-1', probe.image('d.img'))
    reply = probe.vm.execute('device_add', {'id': 'drive-1', 'driver': 'virtio-blk-mmio', 'addr': '0x1'})
    return 'needs drive (refused: %s)' % desc(reply) if desc(reply) else 'taken without drive'


def reply_of(make: Callable[[Probe], dict]) -> Callable[[Probe], str]:
    def run(probe: Probe) -> str:
        reply = make(probe)
        return 'reply: %s' % (desc(reply) if desc(reply) is not None else 'success')

    return run


def device_del_absent(probe: Probe) -> dict:
    return probe.vm.execute('device_del', {'id': 'nothing-1'})


def backend_twice(probe: Probe) -> dict:
    probe.backend('drive-1', probe.image('a.img'))
    return probe.backend('drive-1', probe.image('b.img'))


def place_taken(probe: Probe) -> dict:
    probe.plug_disk('drive-1', 1)
    probe.backend('drive-2', probe.image('c.img'))
    return probe.disk('drive-2', 1)


def id_twice(probe: Probe) -> dict:
    probe.plug_disk('drive-1', 1)
    probe.backend('drive-2', probe.image('c.img'))
    return probe.disk('drive-1', 2, drive='drive-2')


def blockdev_del_absent(probe: Probe) -> dict:
    return probe.vm.execute('blockdev-del', {'node-name': 'nothing-1'})


def unplug_twice(probe: Probe) -> str:
    probe.plug_disk('drive-1', 1)
    first = probe.vm.execute('device_del', {'id': 'drive-1'})
    second = probe.vm.execute('device_del', {'id': 'drive-1'})
    return 'first: %s; second: %s' % (desc(first) or 'success', desc(second) or 'success')


def netdev_value(key: str, value: object) -> Callable[[Probe], str]:
    def run(probe: Probe) -> str:
        tap = 'svtprobe%d' % os.getpid()
        subprocess.run(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap', 'multi_queue'], check=True)
        try:
            reply = probe.vm.execute('netdev_add', {'id': 'net-1', 'ifname': tap, key: value})
            return 'taken' if desc(reply) is None else 'refused: %s' % desc(reply)
        finally:
            probe.vm.stop()
            subprocess.run(['ip', 'tuntap', 'del', 'dev', tap, 'mode', 'tap', 'multi_queue'], check=False)

    return run


CASES = [
    Case('blockdev-add driver=qcow2', 'standard', qcow2_driver),
    Case('blockdev-add driver=qcow2', 'micro', qcow2_driver),
    Case('blockdev-add discard (bad value)', 'standard', backend_value('discard', 'bogus')),
    Case('blockdev-add detect-zeroes (bad value)', 'standard', backend_value('detect-zeroes', 'bogus')),
    Case('blockdev-add throttling.iops-total (string)', 'standard', backend_value('throttling.iops-total', 'many')),
    Case('blockdev-add file.aio=native', 'standard', aio_key),
    Case('aio=off with cache.direct=true', 'standard', aio_off_with_direct),
    Case('image opened at blockdev-add', 'standard', opens_image_at_blockdev_add),
    Case('image opened at blockdev-add', 'micro', opens_image_at_blockdev_add),
    Case('virtio-blk iothread (unknown id)', 'standard', device_value('iothread', 'io9'), IOTHREAD),
    Case('virtio-blk iothread (unknown id)', 'micro', device_value('iothread', 'io9'), IOTHREAD),
    Case('virtio-blk num-queues (33)', 'standard', device_value('num-queues', 33)),
    Case('virtio-blk queue-size (3)', 'standard', device_value('queue-size', 3)),
    Case('virtio-blk boot_index (string)', 'standard', device_value('boot_index', 'first')),
    Case('virtio-blk boot_index (string)', 'micro', device_value('boot_index', 'first')),
    Case('micro device_add without drive', 'micro', micro_device_without_drive),
    Case('device_del of an unknown id', 'standard', reply_of(device_del_absent)),
    Case('device_del of an unknown id', 'micro', reply_of(device_del_absent)),
    Case('blockdev-add of a node twice', 'standard', reply_of(backend_twice)),
    Case('blockdev-add of a node twice', 'micro', reply_of(backend_twice)),
    Case('device_add into a taken place', 'standard', reply_of(place_taken)),
    Case('device_add into a taken place', 'micro', reply_of(place_taken)),
    Case('device_add of an id twice', 'standard', reply_of(id_twice)),
    Case('blockdev-del of an unknown node', 'standard', reply_of(blockdev_del_absent)),
    Case('blockdev-del of an unknown node', 'micro', reply_of(blockdev_del_absent)),
    Case('device_del twice (guest never acknowledges)', 'standard', unplug_twice),
    Case('netdev_add queues as string', 'standard', netdev_value('queues', '2')),
    Case('netdev_add queues as integer', 'standard', netdev_value('queues', 2)),
    Case('netdev_add vhost as string', 'standard', netdev_value('vhost', 'on')),
    Case('netdev_add vhost as bool', 'standard', netdev_value('vhost', True)),
]


def run_case(binary: str, case: Case, guest: Dict[str, str]) -> str:
    lacking = missing_tools(case.machine)
    if lacking:
        return 'not run (missing: %s)' % ', '.join(lacking)
    vm = RealVM(binary, case.machine, guest, case.extra_args)
    try:
        vm.start()
    except RealVMError as exc:
        return 'VM did not start: %s' % exc
    try:
        with tempfile.TemporaryDirectory(prefix='stratovirt-probe-') as folder:
            result = case.run(Probe(vm, folder))
            if vm.sock is not None and not vm.alive():
                result += ' [VM died]'
            return result
    except (OSError, RealVMError, ValueError) as exc:
        return 'error: %s%s' % (exc, '' if vm.alive() else ' [VM died]')
    finally:
        vm.stop()


def release_of(binary: str, guest: Dict[str, str]) -> str:
    with RealVM(binary, 'micro', guest) as vm:
        return vm.execute('query-version')['return']['package'].replace('StratoVirt-', '')


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('binaries', nargs='+')
    parser.add_argument('--json', help='also write the table as JSON to this file')
    parser.add_argument('--only', help='run only the cases whose name contains this text')
    args = parser.parse_args(argv)
    cases = [case for case in CASES if not args.only or args.only in case.name]
    with tempfile.TemporaryDirectory(prefix='stratovirt-guest-') as guest_folder:
        guest = build_guest(guest_folder)
        table: Dict[str, Dict[str, str]] = {}
        for binary in args.binaries:
            release = release_of(binary, guest)
            for case in cases:
                row = table.setdefault('%s (%s)' % (case.name, case.machine), {})
                row[release] = run_case(binary, case, guest)
                print('%s | %s | %s' % (release, '%s (%s)' % (case.name, case.machine), row[release]), flush=True)
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump(table, handle, indent=1, sort_keys=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
