# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The QMP client against the StratoVirt simulator and against small scripted peers."""

from __future__ import annotations

import json
import os
import socket
import threading
import time

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import client as _qmp
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.client import QMPClient, encode_command, qmp_session
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.errors import (
    QMPBusyError,
    QMPCommandError,
    QMPConnectionError,
    QMPDisconnectedError,
    QMPLockTimeout,
    QMPProtocolError,
    QMPTimeoutError,
)
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.monitor_usage import monitor_usage
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.lock import VMLock
from tested_releases import release

GREETING_21 = b'{"QMP":{"version":{"qemu":{"micro":1,"minor":0,"major":5},"package":""},"capabilities":[]}}\r\n'


class ScriptedPeer:
    """A one-connection QMP peer that answers each received batch with the next scripted bytes."""

    def __init__(self, path, greeting=GREETING_21, answers=()):
        self.path = path
        self.greeting = greeting
        self.answers = list(answers)
        self.received = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(path)
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, dummy = self.listener.accept()
        with conn:
            conn.sendall(self.greeting)
            for answer in self.answers:
                data = conn.recv(65536)
                if not data:
                    return
                self.received.append(data)
                conn.sendall(answer)
            while conn.recv(65536):
                pass

    def close(self):
        self.listener.close()


@pytest.fixture
def peer(tmp_path):
    peers = []

    def make(**kwargs):
        made = ScriptedPeer(str(tmp_path / 'peer.sock'), **kwargs)
        peers.append(made)
        return made

    yield make
    for made in peers:
        made.close()


def raw_client(path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    return conn


def read_greeting(conn):
    data = b''
    while not data.endswith(b'\n'):
        data += conn.recv(4096)
    return data


@pytest.mark.parametrize('profile,package', [('2.1.0', ''), ('2.5.0', 'StratoVirt-2.5.0')])
def test_greeting_and_query_version(start_vm, profile, package):
    vm = start_vm(profile)
    with QMPClient(vm.socket_path, timeout=5) as client:
        assert client.greeting['version']['qemu'] == {'micro': 1, 'minor': 0, 'major': 5}
        assert client.greeting['version']['package'] == package
        assert client.execute('query-version')['package'] == 'StratoVirt-%s' % profile
        assert client.execute('qmp_capabilities') == {}


def test_command_is_one_compact_line_in_one_write(peer):
    fake = peer(answers=[b'{"return":{}}\r\n'])
    with QMPClient(fake.path, timeout=5) as client:
        client.execute('device_del', {'id': 'drive-0'})
    assert fake.received == [b'{"execute":"device_del","arguments":{"id":"drive-0"}}\n']


def test_command_over_8_kib_is_refused_before_sending(peer):
    fake = peer(answers=[b'{"return":{}}\r\n'])
    with QMPClient(fake.path, timeout=5) as client:
        with pytest.raises(QMPProtocolError, match='at most 8192'):
            client.execute('blockdev-add', {'node-name': 'x' * 9000})
        assert client.execute('query-status') == {}
    assert fake.received == [b'{"execute":"query-status"}\n']


def test_encode_command_keeps_key_order():
    payload = {
        'execute': 'blockdev-add',
        'arguments': {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': '/i'}, 'cache': {'direct': True}, 'read-only': False},
    }
    assert encode_command(payload) == (
        b'{"execute":"blockdev-add","arguments":{"node-name":"drive-0","file":{"driver":"file","filename":"/i"},"cache":{"direct":true},"read-only":false}}\n'
    )


def test_error_reply_carries_class_desc_and_command_even_with_a_bare_newline(start_vm):
    vm = start_vm('2.1.0')
    with QMPClient(vm.socket_path, timeout=5) as client:
        with pytest.raises(QMPCommandError) as caught:
            client.execute('device_add', {'id': 'x', 'driver': 'virtio-blk-mmio', 'addr': '0x1', 'bogus': 1})
        assert caught.value.error_class == 'GenericError'
        assert caught.value.desc.startswith('unknown field `bogus`, expected one of `id`, `driver`')
        assert caught.value.command['arguments']['bogus'] == 1
        with pytest.raises(QMPCommandError) as caught:
            client.execute('device_del', {'id': 'nosuchdev'})
        assert caught.value.desc == 'Device nosuchdev not found'


@pytest.mark.parametrize('profile', ['2.1.0', '2.5.0'])
def test_device_deleted_is_received_before_or_after_the_reply(start_vm, make_image, profile):
    vm = start_vm(profile)
    image = make_image()
    with QMPClient(vm.socket_path, timeout=5) as client:
        client.execute('blockdev-add', {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': image}, 'cache': {'direct': False}, 'read-only': False})
        plug = {'id': 'drive-0', 'driver': 'virtio-blk-mmio', 'addr': '0x1'}
        if release(profile) >= (2, 5):
            plug['drive'] = 'drive-0'
        client.execute('device_add', plug)
        client.execute('device_del', {'id': 'drive-0'})
        if release(profile) < (2, 5):
            assert [ev['event'] for ev in client.events] == ['DEVICE_DELETED'], 'came before the reply'
        else:
            assert client.events == [], 'comes after the reply'
        event = client.wait_event('DEVICE_DELETED', 'drive-0', timeout=2)
        assert event['data'] == {'device': 'drive-0', 'path': 'drive-0'}
        assert client.events == []


def test_wait_event_times_out_when_the_event_is_withheld(start_vm, make_image):
    vm = start_vm('2.5.0', options=['--fault-withhold-event', 'DEVICE_DELETED'])
    with QMPClient(vm.socket_path, timeout=5) as client:
        client.execute('blockdev-add', {'node-name': 'd', 'file': {'driver': 'file', 'filename': make_image()}, 'cache': {'direct': False}})
        client.execute('device_del', {'id': 'd'})
        with pytest.raises(QMPTimeoutError, match='no DEVICE_DELETED event for d'):
            client.wait_event('DEVICE_DELETED', 'd', timeout=0.3)


def test_busy_monitor_is_refused_without_connecting(start_vm):
    vm = start_vm('2.1.0')
    holder = raw_client(vm.socket_path)
    read_greeting(holder)
    with pytest.raises(QMPBusyError, match='QMP monitor of %s is in use by another client' % vm.socket_path):
        QMPClient(vm.socket_path, timeout=1).connect()
    assert not [entry for entry in monitor_usage(vm.socket_path).entries if entry.role == 'queued'], 'the refused client must not sit in the backlog'
    holder.close()
    time.sleep(0.2)
    assert vm.alive(), 'StratoVirt dies when a queued client gave up; none may be left behind'
    with QMPClient(vm.socket_path, timeout=2) as client:
        assert client.execute('query-status')['status'] == 'running'


def test_stale_server_end_of_a_gone_client_is_not_busy(start_vm):
    vm = start_vm('2.1.0')
    first = raw_client(vm.socket_path)
    read_greeting(first)
    first.close()
    time.sleep(0.1)
    with QMPClient(vm.socket_path, timeout=2) as client:
        assert client.execute('query-status')['running'] is True


def test_no_greeting_in_time_leaves_the_connection_to_a_waiter_and_the_vm_survives(start_vm, monkeypatch):
    vm = start_vm('2.1.0')
    holder = raw_client(vm.socket_path)
    read_greeting(holder)
    # Another client slips in between our check and our connect: we end up queued.
    monkeypatch.setattr(QMPClient, 'check_monitor_free', lambda self: None)
    started = time.monotonic()
    with pytest.raises(QMPTimeoutError, match='no QMP greeting'):
        QMPClient(vm.socket_path, timeout=0.5).connect()
    assert time.monotonic() - started < 3
    assert [entry.role for entry in monitor_usage(vm.socket_path).entries if entry.role == 'queued'] == ['queued']
    holder.close()
    time.sleep(0.5)
    assert vm.alive(), vm.stderr()
    with QMPClient(vm.socket_path, timeout=2) as client:
        assert client.execute('query-status')['status'] == 'running'


def test_vm_still_starting_gets_a_waiter_too(start_vm):
    vm = start_vm('2.1.0', options=['--accept-delay', '1.0'])
    with pytest.raises(QMPTimeoutError):
        QMPClient(vm.socket_path, timeout=0.3).connect()
    time.sleep(1.2)
    assert vm.alive(), vm.stderr()


def test_closing_before_the_greeting_kills_stratovirt(start_vm):
    """The hazard the client avoids, shown on the simulator: a queued client that gives up."""
    vm = start_vm('2.1.0')
    holder = raw_client(vm.socket_path)
    read_greeting(holder)
    raw_client(vm.socket_path).close()
    holder.close()
    assert vm.wait_exit(3) == 101
    assert not os.path.exists(vm.socket_path)


def test_reply_timeout(start_vm):
    vm = start_vm('2.1.0', options=['--fault-delay', '1.0'])
    with QMPClient(vm.socket_path, timeout=0.3) as client:
        with pytest.raises(QMPTimeoutError, match='timed out'):
            client.execute('query-status')


def test_connection_dropped_mid_command(start_vm):
    vm = start_vm('2.1.0', options=['--fault-drop-after', '1'])
    with QMPClient(vm.socket_path, timeout=2) as client:
        client.execute('query-status')
        with pytest.raises(QMPDisconnectedError, match='closed by the peer'):
            client.execute('query-status')


def test_vm_exit_is_a_disconnect(start_vm, make_image):
    vm = start_vm('2.1.0')
    with QMPClient(vm.socket_path, timeout=2) as client:
        client.execute('blockdev-add', {'node-name': 'drive-0', 'file': {'driver': 'file', 'filename': make_image()}})
        with pytest.raises(QMPDisconnectedError):
            client.execute('device_add', {'id': 'drive-0', 'driver': 'virtio-net-mmio', 'addr': '0x0'})
    assert vm.wait_exit(3) == 101


def test_events_read_while_waiting_are_kept(start_vm):
    vm = start_vm('2.1.0')
    with QMPClient(vm.socket_path, timeout=2) as client:
        client.execute('stop')
        client.execute('cont')
        assert [ev['event'] for ev in client.events] == ['STOP', 'RESUME']
        assert client.take_event('RESUME')['data'] == {}
        assert [ev['event'] for ev in client.events] == ['STOP']


def test_throttled_command_is_sent_again_once(peer, monkeypatch):
    monkeypatch.setattr(_qmp, 'THROTTLED_RETRY_DELAY', 0.01)
    throttled = b'{"error":{"class":"OperationThrottled","desc":"More than 100 requests received during 1 second"}}\n'
    fake = peer(answers=[throttled, b'{"return":{"running":true,"singlestep":false,"status":"running"}}\r\n'])
    with QMPClient(fake.path, timeout=2) as client:
        assert client.execute('query-status')['running'] is True
    assert fake.received == [b'{"execute":"query-status"}\n'] * 2


@pytest.mark.parametrize(
    'greeting,match',
    [
        (b'{"hello":1}\r\n', 'expected a QMP greeting'),
        (b'{"QMP":{"capabilities":[]}}\r\n', 'malformed QMP greeting'),
        (b'not json\r\n', 'invalid JSON'),
    ],
)
def test_bad_greeting(peer, greeting, match):
    fake = peer(greeting=greeting)
    with pytest.raises(QMPProtocolError, match=match):
        QMPClient(fake.path, timeout=2).connect()


def test_bad_reply(peer):
    fake = peer(answers=[b'{"neither":1}\r\n'])
    with QMPClient(fake.path, timeout=2) as client:
        with pytest.raises(QMPProtocolError, match='unexpected QMP message'):
            client.execute('query-status')


def test_not_a_socket_and_missing(tmp_path):
    regular = tmp_path / 'file'
    regular.write_text('x')
    with pytest.raises(QMPConnectionError, match='is not a Unix socket'):
        QMPClient(str(regular)).connect()
    with pytest.raises(QMPConnectionError, match='does not exist'):
        QMPClient(str(tmp_path / 'nothing.sock')).connect()


def test_a_monitor_under_two_hard_links_is_refused_before_the_lock(start_vm, tmp_path):
    vm = start_vm('2.1.0')
    second_name = str(tmp_path / 'second-name.sock')
    os.link(vm.socket_path, second_name)
    for name in (vm.socket_path, second_name):
        with pytest.raises(QMPConnectionError, match='has 2 hard links'):
            with qmp_session(name, timeout=1):
                pass
    assert not os.path.exists(second_name + '.lock') and not os.path.exists(vm.socket_path + '.lock')
    os.unlink(second_name)
    with qmp_session(vm.socket_path, timeout=5) as client:
        assert client.execute('query-status')['status'] == 'running'


@pytest.mark.parametrize('make', [lambda path: path.write_text('x'), lambda path: path.mkdir()], ids=['file', 'directory'])
def test_a_session_on_what_is_no_socket_leaves_no_lock_file(tmp_path, make):
    path = tmp_path / 'vm.sock'
    make(path)
    with pytest.raises(QMPConnectionError, match='is not a Unix socket'):
        with qmp_session(str(path), timeout=1):
            pass
    with pytest.raises(QMPConnectionError, match='does not exist'):
        with qmp_session(str(tmp_path / 'missing.sock'), timeout=1):
            pass
    assert sorted(os.listdir(str(tmp_path))) == ['vm.sock']


def test_socket_without_listener(tmp_path):
    path = str(tmp_path / 'dead.sock')
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.close()
    with pytest.raises(QMPConnectionError, match='nothing listens'):
        QMPClient(path).connect()


def test_session_holds_the_vm_lock(start_vm):
    vm = start_vm('2.1.0')
    with qmp_session(vm.socket_path, timeout=2) as client:
        # Held while the session is open: another run is refused (before it connects), not queued behind us.
        with pytest.raises(QMPLockTimeout):
            VMLock(vm.socket_path, timeout=0).acquire()
        assert client.execute('query-status')['running'] is True
    with VMLock(vm.socket_path, timeout=0):  # released when the session ends
        pass
    with qmp_session(vm.socket_path, timeout=2) as client:
        assert json.dumps(client.greeting).startswith('{"version"')


def test_the_greeting_waiter_keeps_neither_the_lock_nor_other_connections(start_vm, monkeypatch):
    vm = start_vm('2.1.0')
    holder = raw_client(vm.socket_path)
    read_greeting(holder)
    monkeypatch.setattr(QMPClient, 'check_monitor_free', lambda self: None)
    with pytest.raises(QMPTimeoutError):
        with qmp_session(vm.socket_path, timeout=0.5):
            pass
    # The waiter is a fork of this process: had it kept our descriptors, the holder's connection and the
    # VM lock would stay open in it.
    with VMLock(vm.socket_path, timeout=0.5):
        pass
    holder.close()
    time.sleep(0.5)
    usage = monitor_usage(vm.socket_path)
    assert usage.in_use is False, usage.reason
    assert vm.alive(), vm.stderr()
