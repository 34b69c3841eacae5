# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The QMP client against QEMU, a second real QMP server that no one here wrote.

QEMU's dialect differs from StratoVirt's (capabilities negotiation is required, error classes vary,
replies are spaced JSON), but greeting, framing, errors and events must work with it too.
`make test` installs Debian's qemu-system-x86; QEMU runs with -accel tcg -S and no guest (the ``qemu`` fixture).
"""

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.client import QMPClient
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.errors import QMPBusyError, QMPCommandError
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import DialectError, detect


def test_greeting_negotiation_and_query(qemu):
    with QMPClient(qemu, timeout=5) as client:
        assert client.greeting['version']['qemu']['major'] >= 7
        assert client.greeting['capabilities'] == ['oob']
        with pytest.raises(QMPCommandError) as caught:
            client.execute('query-version')
        assert caught.value.error_class == 'CommandNotFound'
        assert client.execute('qmp_capabilities') == {}
        assert client.execute('query-version')['package'].startswith('Debian')


def test_error_class_desc_and_command_are_kept(qemu):
    with QMPClient(qemu, timeout=5) as client:
        client.execute('qmp_capabilities')
        with pytest.raises(QMPCommandError) as caught:
            client.execute('device_del', {'id': 'nosuch'})
        assert (caught.value.error_class, caught.value.desc) == ('DeviceNotFound', "Device 'nosuch' not found")
        assert caught.value.command == {'execute': 'device_del', 'arguments': {'id': 'nosuch'}}


def test_event_sent_before_the_reply_is_kept(qemu):
    with QMPClient(qemu, timeout=5) as client:
        client.execute('qmp_capabilities')
        client.execute('cont')
        assert client.wait_event('RESUME', timeout=2)['event'] == 'RESUME'
        assert client.execute('query-status')['running'] is True


def test_busy_qemu_monitor_is_refused_without_connecting(qemu):
    holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    holder.connect(qemu)
    holder.recv(4096)
    try:
        with pytest.raises(QMPBusyError):
            QMPClient(qemu, timeout=2).connect()
    finally:
        holder.close()
    time.sleep(0.2)
    with QMPClient(qemu, timeout=5) as client:
        assert client.execute('qmp_capabilities') == {}


def test_qemu_is_not_taken_for_stratovirt(qemu):
    with QMPClient(qemu, timeout=5) as client:
        client.execute('qmp_capabilities')
        with pytest.raises(DialectError, match='not StratoVirt'):
            detect(client)
