# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulator's micro VM, beyond what the 2.1.0 replay covers: 2.5.0, host resources, crashes, faults."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest


class Raw:
    """A bare QMP peer: exact bytes out, exact lines in."""

    def __init__(self, path):
        self.conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.conn.connect(path)
        self.conn.settimeout(3)
        self.buffer = b''
        self.greeting = self.line()

    def line(self):
        while b'\n' not in self.buffer:
            chunk = self.conn.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, dummy, self.buffer = self.buffer.partition(b'\n')
        return line + b'\n'

    def send(self, execute, arguments=None):
        command = {'execute': execute}
        if arguments is not None:
            command['arguments'] = arguments
        self.conn.sendall(json.dumps(command, separators=(',', ':')).encode() + b'\n')

    def cmd(self, execute, arguments=None):
        """Send; :returns: every line up to and including the reply, decoded."""
        self.send(execute, arguments)
        lines = []
        while True:
            message = json.loads(self.line())
            lines.append(message)
            if 'event' not in message:
                return lines

    def reply(self, execute, arguments=None):
        return self.cmd(execute, arguments)[-1]

    def close(self):
        self.conn.close()


def blockdev(node, path, direct=False, aio=None, read_only=False):
    file_args = {'driver': 'file', 'filename': path}
    if aio:
        file_args['aio'] = aio
    return {'node-name': node, 'file': file_args, 'cache': {'direct': direct}, 'read-only': read_only}


def open_paths(pid):
    paths = []
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            paths.append(os.readlink('/proc/%d/fd/%s' % (pid, fd)))
        except OSError:
            pass
    return paths


def held_taps(pid):
    taps = []
    for fd in os.listdir('/proc/%d/fdinfo' % pid):
        try:
            with open('/proc/%d/fdinfo/%s' % (pid, fd), encoding='utf-8') as info:
                taps += [line.split()[1] for line in info if line.startswith('iff:')]
        except OSError:
            pass
    return taps


def error(desc):
    return {'error': {'class': 'GenericError', 'desc': desc}}


# -- 2.5.0 dialect ---------------------------------------------------------


def test_25_greeting_and_aio_rule(start_vm, make_image):
    vm = start_vm('2.5.0')
    qmp = Raw(vm.socket_path)
    assert qmp.greeting == (b'{"QMP":{"version":{"qemu":{"micro":1,"minor":0,"major":5},"package":"StratoVirt-2.5.0"},"capabilities":[]}}\r\n')
    assert qmp.reply('blockdev-add', blockdev('drive-1', make_image('d1.img'), direct=True)) == error(
        'Invalid parameter \'aio\' for \'low performance expected when use sync io with "direct" on\''
    )
    assert qmp.reply('blockdev-add', blockdev('drive-1', make_image('d1.img'), direct=False, aio='native')) == error(
        'Invalid parameter \'aio\' for \'native aio type should be used with "direct" on\''
    )
    assert qmp.reply('blockdev-add', blockdev('drive-2', make_image('d2.img'), direct=True, aio='native')) == {'return': {}}
    assert qmp.reply('blockdev-add', blockdev('drive-0', make_image('d0.img'))) == {'return': {}}


def test_25_drive_and_chardev_required_and_reply_before_event(start_vm, make_image, host_tap):
    vm = start_vm('2.5.0')
    qmp = Raw(vm.socket_path)
    qmp.reply('blockdev-add', blockdev('drive-0', make_image()))
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'}) == error('No drive set')
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1', 'drive': 'drive-0'}) == {'return': {}}
    qmp.send('device_del', {'id': 'drive-0'})
    assert json.loads(qmp.line()) == {'return': {}}
    assert json.loads(qmp.line())['data'] == {'device': 'drive-0', 'path': 'drive-0'}
    tap = host_tap()
    qmp.reply('netdev_add', {'id': 'net-0', 'ifname': tap})
    assert qmp.reply('device_add', {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0'}) == error('No chardev set')


def test_25_nic_unplug_keeps_the_tap(start_vm, host_tap):
    vm = start_vm('2.5.0')
    qmp = Raw(vm.socket_path)
    tap = host_tap()
    assert qmp.reply('netdev_add', {'id': 'net-0', 'ifname': tap}) == {'return': {}}
    assert qmp.reply('device_add', {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0', 'chardev': 'net-0'}) == {'return': {}}
    assert held_taps(vm.pid) == [tap]
    assert qmp.cmd('device_del', {'id': 'net-0'}) == [error('net-0: failed to update config.')]
    assert held_taps(vm.pid) == [tap]
    assert qmp.reply('device_del', {'id': 'net-0'}) == error('Device net-0 not found')
    assert qmp.reply('netdev_add', {'id': 'net-0', 'ifname': tap}) == error('Tap device already in use')


def test_25_strict_addr_and_type_mismatch_is_an_error(start_vm, make_image):
    vm = start_vm('2.5.0')
    qmp = Raw(vm.socket_path)
    qmp.reply('blockdev-add', blockdev('drive-0', make_image()))
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': 'zz', 'drive': 'd'}) == error('Invalid addr for device drive-0')
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x4', 'drive': 'd'}) == error(
        'A maximum of block 4 replaceable devices are supported.'
    )
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-net-mmio', 'addr': '0x0', 'chardev': 'c'}) == error(
        'The device type is net, but the target config is not for this type.'
    )
    assert vm.alive()


def test_25_image_open_and_locked_at_blockdev_add(start_vm, make_image):
    image = make_image()
    first = start_vm('2.5.0')
    qmp = Raw(first.socket_path)
    assert qmp.reply('blockdev-add', blockdev('drive-0', image)) == {'return': {}}
    assert image in open_paths(first.pid)
    assert qmp.reply('blockdev-add', blockdev('drive-1', image)) == error(
        'Failed to add drive %s, file can only be shared with read_only. Is it used more than once or another process using the same file?' % image
    )
    other = Raw(start_vm('2.5.0').socket_path)
    assert other.reply('blockdev-add', blockdev('drive-0', image))['error']['desc'].startswith('Failed to get write lock on file: %s.' % image)
    qmp.cmd('device_del', {'id': 'drive-0'})
    assert image not in open_paths(first.pid)


# -- host resources on 2.1.0 -----------------------------------------------


def test_21_image_opened_at_device_add_and_closed_at_device_del(start_vm, make_image):
    vm = start_vm('2.1.0')
    image = make_image()
    qmp = Raw(vm.socket_path)
    qmp.reply('blockdev-add', blockdev('drive-0', image, direct=True))
    assert image not in open_paths(vm.pid)
    qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'})
    assert image in open_paths(vm.pid)
    qmp.cmd('device_del', {'id': 'drive-0'})
    assert image not in open_paths(vm.pid)


def test_21_nic_plug_holds_the_tap_and_creates_a_missing_one(start_vm, free_tap_name):
    vm = start_vm('2.1.0')
    tap = free_tap_name()
    qmp = Raw(vm.socket_path)
    assert qmp.reply('netdev_add', {'id': 'net-0', 'ifname': tap}) == {'return': {}}
    assert qmp.reply('device_add', {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x1'}) == {'return': {}}
    assert held_taps(vm.pid) == [tap]
    assert os.path.exists('/sys/class/net/%s' % tap)
    lines = qmp.cmd('device_del', {'id': 'net-0'})
    assert [line.get('event') for line in lines] == ['DEVICE_DELETED', None]
    assert held_taps(vm.pid) == []


def test_21_unusable_tap_fails_update_and_keeps_the_slot(start_vm, host_tap):
    tap = host_tap()
    holder = Raw(start_vm('2.1.0', name='holder.sock').socket_path)
    holder.reply('netdev_add', {'id': 'n', 'ifname': tap})
    holder.reply('device_add', {'id': 'n', 'driver': 'virtio-net-mmio', 'addr': '0x0'})
    qmp = Raw(start_vm('2.1.0').socket_path)
    qmp.reply('netdev_add', {'id': 'net-0', 'ifname': tap})
    assert qmp.reply('device_add', {'id': 'net-0', 'driver': 'virtio-net-mmio', 'addr': '0x0'}) == error('net-0: failed to update config.')
    qmp.reply('netdev_add', {'id': 'net-1', 'ifname': 'x'})
    assert qmp.reply('device_add', {'id': 'net-1', 'driver': 'virtio-net-mmio', 'addr': '0x0'}) == error('The slot 0 is occupied already.')


def test_cold_plugged_devices_take_slots_and_backends(start_vm, make_image):
    rootfs = make_image('rootfs.img')
    vm = start_vm('2.1.0', cmdline=['-drive', 'file=%s,id=rootfs,readonly=off,direct=off' % rootfs, '-device', 'virtio-blk-device,drive=rootfs,id=rootfs'])
    assert rootfs in open_paths(vm.pid)
    qmp = Raw(vm.socket_path)
    qmp.reply('blockdev-add', blockdev('drive-0', make_image()))
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x0'}) == error('The slot 0 is occupied already.')
    assert qmp.reply('blockdev-add', blockdev('rootfs', make_image('x.img'))) == error('rootfs is already registered.')


# -- crash modes -----------------------------------------------------------


@pytest.mark.parametrize('backend,driver', [('blk', 'virtio-net-mmio'), ('net', 'virtio-blk-mmio')])
def test_21_type_mismatch_kills_the_vm(start_vm, make_image, backend, driver):
    vm = start_vm('2.1.0')
    qmp = Raw(vm.socket_path)
    if backend == 'blk':
        qmp.reply('blockdev-add', blockdev('dev-0', make_image()))
    else:
        qmp.reply('netdev_add', {'id': 'dev-0', 'ifname': 'x'})
    qmp.send('device_add', {'id': 'dev-0', 'driver': driver, 'addr': '0x0'})
    with pytest.raises(EOFError):
        qmp.line()
    assert vm.wait_exit(3) == 101
    assert not os.path.exists(vm.socket_path)
    assert 'panicked' in vm.stderr()


def test_quit_replies_then_shuts_down(start_vm):
    vm = start_vm('2.5.0')
    qmp = Raw(vm.socket_path)
    qmp.send('quit')
    assert qmp.line() == b'{"return":{}}\r\n'
    assert json.loads(qmp.line())['data'] == {'guest': False, 'reason': 'host-qmp-quit'}
    assert vm.wait_exit(3) == 0
    assert not os.path.exists(vm.socket_path)


# -- framing and limits ----------------------------------------------------


def test_serde_errors_end_in_newline_only_on_21_and_crlf_on_25(start_vm):
    old = Raw(start_vm('2.1.0').socket_path)
    new = Raw(start_vm('2.5.0').socket_path)
    old.conn.sendall(b'{"execute":\n')
    new.conn.sendall(b'{"execute":\n')
    assert old.line() == b'{"error":{"class":"GenericError","desc":"EOF while parsing a value at line 1 column 11"}}\n'
    assert new.line() == b'{"error":{"class":"GenericError","desc":"EOF while parsing a value at line 1 column 11"}}\r\n'


def test_too_long_message(start_vm):
    qmp = Raw(start_vm('2.1.0').socket_path)
    qmp.conn.sendall(b'{"execute":"query-status","arguments":{"x":"' + b'a' * 9000 + b'"}}')
    assert json.loads(qmp.line()) == error('The socket messege is too long.')


def test_more_than_100_reads_a_second_are_throttled(start_vm):
    qmp = Raw(start_vm('2.1.0').socket_path)
    replies = []
    for dummy in range(110):
        qmp.conn.sendall(b'{"execute":"query-status"}')
        replies.append(json.loads(qmp.line()))
    classes = [reply.get('error', {}).get('class') for reply in replies]
    assert classes[:100] == [None] * 100
    assert 'OperationThrottled' in classes[100:]


def test_one_client_at_a_time(start_vm):
    vm = start_vm('2.1.0')
    first = Raw(vm.socket_path)
    second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    second.connect(vm.socket_path)
    second.settimeout(0.3)
    with pytest.raises(socket.timeout):
        second.recv(1)
    second.sendall(b'{"execute":"query-status"}')
    first.close()
    second.settimeout(3)
    time.sleep(0.2)
    data = second.recv(65536)
    assert data.startswith(b'{"QMP":') and b'"status":"running"' in data


def test_fault_fail_command(start_vm, make_image):
    qmp = Raw(start_vm('2.1.0', options=['--fault-fail', 'device_add=boom']).socket_path)
    qmp.reply('blockdev-add', blockdev('drive-0', make_image()))
    assert qmp.reply('device_add', {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'}) == error('boom')


def test_record_file_keeps_the_exact_bytes(start_vm, tmp_path):
    record = str(tmp_path / 'record.jsonl')
    qmp = Raw(start_vm('2.1.0', options=['--record', record]).socket_path)
    qmp.conn.sendall(b'{"execute":"query-status"}\n')
    qmp.line()
    with open(record, encoding='utf-8') as handle:
        entries = [json.loads(line) for line in handle]
    assert {'received': '{"execute":"query-status"}\n'} in [{k: v for k, v in e.items() if k != 'time'} for e in entries]


def test_fault_drop_after_drops_once(start_vm):
    vm = start_vm('2.1.0', options=['--fault-drop-after', '1'])
    first = Raw(vm.socket_path)
    assert first.reply('query-status')['return']['status'] == 'running'
    first.send('query-status')
    with pytest.raises(EOFError):
        first.line()
    second = Raw(vm.socket_path)
    assert [second.reply('query-status')['return']['running'] for dummy in range(3)] == [True] * 3
