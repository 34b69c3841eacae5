# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Ansible adapter, run in-process with a stand-in for AnsibleModule against simulated VMs."""

from __future__ import annotations

import json

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils import _collection_error as _error_root

from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp import client as _qmp
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import RecordError
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.errors import DeviceApplyError, DeviceInputError
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.errors import QMPCommandError, QMPError, QMPLockTimeout
from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.devices import DeviceTask, argument_spec, failure_message, lock_timeout
from ansible_collections.stratovirt.qmp.plugins.module_utils._dialect.dialect import NEWEST_KNOWN, DialectError
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.monitor_usage import UnixDiagError
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.lock import VMLock
from ansible_collections.stratovirt.qmp.plugins.module_utils._host.process import VMProcessError
from tested_releases import MACHINES, PROFILES

LATER = '%d.%d.0' % (NEWEST_KNOWN[0], NEWEST_KNOWN[1] + 1)


class Done(Exception):
    def __init__(self, result):
        super().__init__(result.get('msg', ''))
        self.result = result


class Module:
    """What DeviceTask uses of AnsibleModule."""

    def __init__(self, kind, options, check_mode=False):
        self.params = {name: spec.get('default') for name, spec in argument_spec(kind).items()}
        self.params.update(options)
        self.check_mode = check_mode
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)

    def exit_json(self, **result):
        raise Done(dict(result, failed=False, warnings=self.warnings))

    def fail_json(self, **result):
        raise Done(dict(result, failed=True, warnings=self.warnings))


def run(kind, check_mode=False, **options):
    module = Module(kind, options, check_mode)
    with pytest.raises(Done) as done:
        DeviceTask(module, (kind,)).run()
    return done.value.result


@pytest.fixture
def newer_release(monkeypatch):
    """The VM reports a release after the newest known (the simulator plays the newest known one)."""
    execute = _qmp.QMPClient.execute

    def reporting_later(self, name, arguments=None):
        answer = execute(self, name, arguments)
        if name == 'query-version':
            answer = dict(answer, package='StratoVirt-%s' % LATER)
        return answer

    monkeypatch.setattr(_qmp.QMPClient, 'execute', reporting_later)


def test_a_newer_release_is_warned_about_once_and_driven_as_the_newest_known(start_vm, host_tap, newer_release):
    vm = start_vm('%d.%d.%d' % NEWEST_KNOWN)
    tap = host_tap()
    plugged = run('nic', socket=vm.socket_path, id='net-0', ifname=tap)
    assert not plugged['failed'], plugged
    assert plugged['stratovirt']['release'] == LATER
    about_release = [text for text in plugged['warnings'] if LATER in text]
    assert len(about_release) == 1 and 'driven as %d.%d.%d' % NEWEST_KNOWN in about_release[0]
    # The newest known release's micro VM NIC: chardev on device_add, and the unplug defect handled as there.
    assert plugged['commands'][-1]['arguments']['chardev'] == 'net-0'
    unplugged = run('nic', socket=vm.socket_path, id='net-0', state='absent')
    assert not unplugged['failed'] and unplugged['changed'], unplugged
    assert [command['execute'] for command in unplugged['commands']] == ['device_del', 'device_del']
    assert any('keeps its tap' in text for text in unplugged['warnings'])


def test_every_error_of_the_collection_has_one_root():
    roots = {_error_root.CollectionError}
    for error in (QMPError, QMPCommandError, QMPLockTimeout, DeviceInputError, DeviceApplyError, DialectError, RecordError, VMProcessError, UnixDiagError):
        assert set(error.__mro__) & roots, error


def test_the_vm_is_named_once_in_the_message(start_vm, tmp_path):
    vm = start_vm('2.1.0')
    refused = run('disk', socket=vm.socket_path, id='d', path=str(tmp_path / 'missing.img'))
    assert refused['failed'] and refused['msg'].count(vm.socket_path) == 1, refused['msg']
    assert refused['msg'].startswith('VM %s: ' % vm.socket_path)
    missing = str(tmp_path / 'gone.sock')
    gone = run('disk', socket=missing, id='d', path=str(tmp_path / 'missing.img'), state='absent')
    assert gone['failed'] and gone['msg'].count(missing) == 1, gone['msg']
    command = QMPCommandError('GenericError', 'Device d not found', {'execute': 'device_del'}, vm.socket_path)
    assert failure_message(command, vm.socket_path) == 'VM %s: device_del failed: Device d not found' % vm.socket_path


ROOT_PORTS = ['-device', 'pcie-root-port,id=pcie.1,port=0x1,bus=pcie.0,addr=0x3', '-device', 'pcie-root-port,id=pcie.2,port=0x2,bus=pcie.0,addr=0x4']


def is_subsequence(sent, listed):
    remaining = iter(listed)
    return all(any(command == candidate for candidate in remaining) for command in sent)


def mutating_sent(record_path, seen):
    with open(record_path, encoding='utf-8') as handle:
        lines = [json.loads(line)['received'] for line in handle if '"received"' in line]
    return [json.loads(text) for text in lines[seen:] if '"query-version"' not in text], len(lines)


@pytest.mark.parametrize('kind', ['disk', 'nic'])
@pytest.mark.parametrize('machine', MACHINES)
@pytest.mark.parametrize('profile', PROFILES)
def test_check_mode_lists_everything_the_real_run_sends(profile, machine, kind, start_vm, make_image, host_tap, tmp_path):
    record = str(tmp_path / 'vm.sock.qmp.jsonl')
    options, cmdline = ['--record', record], []
    if machine == 'standard':
        options += ['--machine', 'standard', '--guest-ack-delay', '0']
        cmdline = ROOT_PORTS
    vm = start_vm(profile=profile, options=options, cmdline=cmdline, name='vm.sock')
    device = {'path': make_image()} if kind == 'disk' else {'ifname': host_tap()}
    seen = 0
    for task in (dict(device, id='x1'), {'id': 'x1', 'state': 'absent'}):
        checked = run(kind, check_mode=True, socket=vm.socket_path, **task)
        assert not checked['failed'] and len(checked['when']) == len(checked['commands']), checked
        real = run(kind, socket=vm.socket_path, **task)
        assert not real['failed'] and real['changed'], real
        sent, seen = mutating_sent(record, seen)
        assert real['commands'] == sent and 'when' not in real
        assert is_subsequence(sent, checked['commands']), (sent, checked['commands'])
        conditional = [command for command, when in zip(checked['commands'], checked['when']) if when]
        # The 2.5.0 micro VM NIC unplug: its second device_del is planned, with its condition shown.
        expect_follow_up = (
            task.get('state') == 'absent' and machine == 'micro' and kind == 'nic' and tuple(int(part) for part in profile.split('.')) >= (2, 5, 0)
        )
        assert conditional == ([{'execute': 'device_del', 'arguments': {'id': 'x1'}}] if expect_follow_up else [])


def test_the_lock_wait_outlasts_a_peer_unplug(start_vm):
    assert lock_timeout({'timeout': 10.0, 'wait_timeout': 30.0}) == 80.0
    vm = start_vm('2.1.0')
    with VMLock(vm.socket_path, 1.0):
        waited = run('disk', socket=vm.socket_path, id='d', state='absent', timeout=0.1, wait_timeout=0.5)
    assert waited['failed'] and 'held the lock' in waited['msg'] and 'for more than 1.0s' in waited['msg'], waited
