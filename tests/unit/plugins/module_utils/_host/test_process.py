# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tests for plugins/module_utils/_host/process.py, against real processes: simulated VMs and helper subprocesses.

/proc is never mocked (its reads are counted where their number matters); only the stat-line and command-line parsers
are fed crafted text, and the kernel's lease answer is refused where a file system without leases is meant.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device.cold_plug import ColdPlugged, cold_plugged_devices
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.cmdline import machine_type
from ansible_collections.stratovirt.qmp.plugins.module_utils._host import process
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import (
    OpenImage,
    VMProcessError,
    command_line,
    held_taps,
    nobody_writes,
    open_images,
    parse_stat,
    peer_pid,
    process_identity,
    writers_of_any,
)

ROOTFS_CMDLINE = ['-drive', 'file=IMG,id=rootfs,readonly=off,direct=off', '-device', 'virtio-blk-device,drive=rootfs,id=rootfs']


# --- helpers -------------------------------------------------------------------------------------


class QMP:
    """A raw QMP session: the greeting is always read before anything else (closing earlier kills StratoVirt)."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.reader = self.sock.makefile('rb')
        self.greeting = json.loads(self.reader.readline())

    def execute(self, command: str, arguments: dict = None) -> dict:
        message = {'execute': command}
        if arguments is not None:
            message['arguments'] = arguments
        self.sock.sendall(json.dumps(message).encode() + b'\n')
        while True:
            reply = json.loads(self.reader.readline())
            if 'event' not in reply:
                return reply

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@pytest.fixture
def qmp_sessions():
    opened = []

    def connect(vm):
        session = QMP(vm.socket_path)
        opened.append(session)
        return session

    yield connect
    for session in opened:
        session.close()


@pytest.fixture
def holder():
    """``holder(path, flags)`` -> a subprocess holding ``path`` open with ``os.open`` flags until teardown."""
    started = []

    def start(path, flags):
        code = 'import os, sys\nfd = os.open(sys.argv[1], int(sys.argv[2]))\nprint("ready", flush=True)\nsys.stdin.read()\n'
        # Outlives this function on purpose: it is reaped at teardown.
        child = subprocess.Popen(
            [sys.executable, '-c', code, path, str(flags)],  # pylint: disable=consider-using-with
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        started.append(child)
        assert child.stdout.readline() == b'ready\n'
        return child

    yield start
    for child in started:
        child.stdin.close()
        child.wait(5)


def unused_pid() -> int:
    with open('/proc/sys/kernel/pid_max', encoding='ascii') as handle:
        return int(handle.read()) + 1


# --- identity ------------------------------------------------------------------------------------


def test_peer_pid_of_qmp_socket_is_the_vm(start_vm):
    vm = start_vm()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(vm.socket_path)
        greeting = sock.makefile('rb').readline()
        assert b'QMP' in greeting
        assert peer_pid(sock) == vm.pid


def test_peer_pid_of_socketpair_is_us():
    left, right = socket.socketpair()
    with left, right:
        assert peer_pid(left) == os.getpid()


def test_peer_pid_refuses_other_families():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(VMProcessError):
            peer_pid(sock)


def test_peer_pid_of_unconnected_unix_socket():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        with pytest.raises(VMProcessError):
            peer_pid(sock)


def test_identity_is_stable_until_vm_stops(start_vm):
    vm = start_vm()
    identity = process_identity(vm.pid)
    assert identity.pid == vm.pid and identity.start_time > 0
    assert process_identity(vm.pid) == identity
    vm.stop()
    with pytest.raises(VMProcessError):
        process_identity(vm.pid)


def test_missing_process():
    pid = unused_pid()
    for probe in (process_identity, command_line, open_images, held_taps):
        with pytest.raises(VMProcessError):
            probe(pid)


def test_parse_stat_with_parentheses_and_spaces_in_comm():
    tail = ' '.join(str(field) for field in range(4, 53))
    line = f'4242 (a) b) (c ) ) S {tail}\n'
    # Field 22 (start time) is the 19th number after the state: 4..21 precede it.
    assert parse_stat(line) == ('S', 22)
    assert parse_stat(f'7 (stratovirt) R {tail}') == ('R', 22)


@pytest.mark.parametrize('line', ['', '12 (x) S 1 2', '12 x S ' + ' '.join(['1'] * 30), '12 (x) S ' + ' '.join(['a'] * 30)])
def test_parse_stat_rejects_garbage(line):
    with pytest.raises(ValueError):
        parse_stat(line)


def test_command_line_keeps_empty_and_spaced_arguments():
    argv = [sys.executable, '-c', 'import sys; print(1, flush=True); sys.stdin.read()', '', 'two words', '-drive']
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as child:
        assert child.stdout.readline() == b'1\n'  # running the script, so past exec
        assert command_line(child.pid) == argv
        child.stdin.close()


# --- images and taps -----------------------------------------------------------------------------


def test_open_images_after_blockdev_add_on_250(start_vm, make_image, qmp_sessions):
    vm = start_vm(profile='2.5.0')
    direct_image, readonly_image = make_image('direct.img', 8), make_image('ro.img', 8)
    assert not open_images(vm.pid)
    qmp = qmp_sessions(vm)
    assert qmp.execute('qmp_capabilities') == {'return': {}}
    assert qmp.execute(
        'blockdev-add',
        {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': direct_image, 'aio': 'native'}, 'cache': {'direct': True}, 'read-only': False},
    ) == {'return': {}}
    assert qmp.execute(
        'blockdev-add', {'node-name': 'drive-1', 'file': {'driver': 'file', 'filename': readonly_image}, 'cache': {'direct': False}, 'read-only': True}
    ) == {'return': {}}
    # 2.5.0 opens images at blockdev-add, before any device_add.
    assert open_images(vm.pid) == [
        OpenImage(os.path.realpath(direct_image), writable=True, direct=True),
        OpenImage(os.path.realpath(readonly_image), writable=False, direct=False),
    ]


def test_open_images_follow_plug_and_unplug_on_210(start_vm, make_image, qmp_sessions):
    vm = start_vm(profile='2.1.0')
    image = make_image('disk.img', 8)
    qmp = qmp_sessions(vm)
    qmp.execute('qmp_capabilities')
    assert qmp.execute(
        'blockdev-add', {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': image}, 'cache': {'direct': False}, 'read-only': False}
    ) == {'return': {}}
    assert not open_images(vm.pid)  # 2.1.0 opens the image at device_add
    assert qmp.execute('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x0'}) == {'return': {}}
    assert open_images(vm.pid) == [OpenImage(os.path.realpath(image), True, False)]
    assert qmp.execute('device_del', {'id': 'drive-0'}) == {'return': {}}
    assert not open_images(vm.pid)


def test_open_images_of_cold_plugged_rootfs(start_vm, make_image, tmp_path):
    image = make_image('rootfs.img', 8)
    link = tmp_path / 'rootfs-link.img'
    link.symlink_to(image)
    vm = start_vm(cmdline=[arg.replace('IMG', str(link)) for arg in ROOTFS_CMDLINE])
    images = open_images(vm.pid)
    assert images == [OpenImage(os.path.realpath(image), writable=True, direct=False)]
    # The simulator's stderr goes to a regular file, but fds 0-2 are never images.
    assert os.path.realpath(vm.stderr_path) not in [entry.path for entry in images]


def test_held_taps_after_nic_plug_on_210(start_vm, host_tap, qmp_sessions):
    vm = start_vm(profile='2.1.0')
    tap = host_tap()
    assert not held_taps(vm.pid)
    qmp = qmp_sessions(vm)
    qmp.execute('qmp_capabilities')
    assert qmp.execute('netdev_add', {'id': 'net-0', 'ifname': tap}) == {'return': {}}
    assert qmp.execute('device_add', {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0'}) == {'return': {}}
    assert held_taps(vm.pid) == [tap]
    assert not open_images(vm.pid)  # /dev/net/tun is a character device, not an image


def test_simulator_argv_cold_plugged_devices(start_vm, make_image, host_tap, tmp_path):
    image, tap = make_image('rootfs.img', 8), host_tap()
    qmp_path = str(tmp_path / 'unused-qmp.sock')
    cmdline = [arg.replace('IMG', image) for arg in ROOTFS_CMDLINE] + [
        '-netdev',
        f'tap,id=n0,ifname={tap}',
        '-device',
        'virtio-net-device,netdev=n0,id=n0,mac=52:54:00:00:00:01',
        '-qmp',
        f'unix:{qmp_path},server,nowait',
    ]
    vm = start_vm(cmdline=cmdline)
    argv = command_line(vm.pid)
    assert argv[argv.index('--') + 1 :] == cmdline
    assert cold_plugged_devices(argv) == [
        ColdPlugged('rootfs', 'disk', 'virtio-blk-device', {'file': image, 'readonly': 'off', 'direct': 'off', 'drive': 'rootfs'}),
        ColdPlugged('n0', 'nic', 'virtio-net-device', {'ifname': tap, 'netdev': 'n0', 'mac': '52:54:00:00:00:01'}),
    ]
    assert machine_type(argv) == 'microvm'  # the simulator's own --machine
    assert held_taps(vm.pid) == [tap]


# --- writers -------------------------------------------------------------------------------------


def test_writers_of_any_sees_a_read_write_holder(make_image, holder, tmp_path):
    image = make_image('shared.img', 1)
    child = holder(image, os.O_RDWR)
    assert writers_of_any([image], exclude_pid=os.getpid()) == {image: [child.pid]}
    assert not writers_of_any([image], exclude_pid=child.pid)
    link = tmp_path / 'alias.img'
    link.symlink_to(image)
    hard = tmp_path / 'hard.img'
    os.link(image, str(hard))
    assert writers_of_any([str(link)], exclude_pid=0) == {str(link): [child.pid]}
    assert writers_of_any([str(hard)], exclude_pid=0) == {str(hard): [child.pid]}


def test_writers_of_any_ignores_readers_and_missing_files(make_image, holder, tmp_path):
    image = make_image('ro.img', 1)
    holder(image, os.O_RDONLY)
    assert not writers_of_any([image], exclude_pid=0)
    assert not writers_of_any([str(tmp_path / 'missing.img')], exclude_pid=0)


def test_writers_of_any_sees_a_vm(start_vm, make_image):
    image = make_image('rootfs.img', 8)
    vm = start_vm(cmdline=[arg.replace('IMG', image) for arg in ROOTFS_CMDLINE])
    assert writers_of_any([image], exclude_pid=os.getpid()) == {image: [vm.pid]}
    assert not writers_of_any([image], exclude_pid=vm.pid)


def test_nobody_writes_asks_the_kernel_for_any_name_of_the_file(make_image, holder, tmp_path):
    image = make_image('leased.img', 1)
    hard = tmp_path / 'hard.img'
    os.link(image, str(hard))
    assert nobody_writes(image)
    holder(image, os.O_RDONLY)
    assert nobody_writes(image), 'a reader is no writer'
    holder(str(hard), os.O_WRONLY)
    assert not nobody_writes(image), 'written through a hard link'
    assert not nobody_writes(str(tmp_path / 'missing.img'))


def test_writers_of_any_reads_proc_only_for_files_someone_writes(make_image, holder, monkeypatch):
    """Density: on a host of hundreds of VMs, a plug of fresh images costs no scan of every process's descriptors."""
    fresh, held = make_image('fresh.img', 1), make_image('held.img', 1)
    child = holder(held, os.O_RDWR)
    listed = []
    real_listdir = os.listdir
    monkeypatch.setattr(os, 'listdir', lambda path: listed.append(path) or real_listdir(path))
    assert not writers_of_any([fresh], exclude_pid=0)
    assert listed == []
    assert writers_of_any([fresh, held], exclude_pid=0) == {held: [child.pid]}
    assert '/proc' in listed


def test_writers_of_any_scans_when_the_kernel_cannot_tell(make_image, holder, monkeypatch):
    """No lease here (a file system without leases, another user's file): the scan of /proc still finds the writer."""
    image = make_image('nolease.img', 1)
    child = holder(image, os.O_RDWR)

    def refuse(fd, command, *args):
        raise OSError(errno.EINVAL, 'no leases here')

    monkeypatch.setattr(process.fcntl, 'fcntl', refuse)
    assert not nobody_writes(image)
    assert writers_of_any([image], exclude_pid=0) == {image: [child.pid]}
