# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/module_utils/_converge/host_vms.py: many VMs in one run, against simulated VMs of both machine types and releases.

Each VM's items are checked with the runner's validator (the argspec of stratovirt_devices), as the module does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._converge.host_vms import Fleet, FleetInputError, run_bounded
from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.vms import validated_vms
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.kinds.registry import all_kinds
from ansible_collections.stratovirt.qmp.plugins.module_utils._qmp.lock import lock_path_for
from tested_releases import MACHINES, PROFILES

KINDS = tuple(kind.name for kind in all_kinds())
MUTATING = ('blockdev-add', 'device_add', 'netdev_add', 'device_del', 'blockdev-del', 'netdev_del')


def records(vm):
    """The simulator's log of ``vm``: ``(direction, text, time)`` per line."""
    try:
        with open(vm.socket_path + '.qmp.jsonl', encoding='utf-8') as stream:
            lines = [json.loads(line) for line in stream if line.strip()]
    except FileNotFoundError:
        return []
    return [(direction, line[direction], line['time']) for line in lines for direction in ('received', 'sent') if direction in line]


def sessions(vm):
    """Each session of ``vm``, from its greeting to the line before the next greeting: a list of lines."""
    found = []
    for direction, text, when in records(vm):
        if direction == 'sent' and '"QMP"' in text:
            found.append([])
        if found:
            found[-1].append((direction, text, when))
    return found


def executed(vm):
    return [json.loads(text)['execute'] for direction, text, dummy in records(vm) if direction == 'received']


@pytest.fixture
def fleet_vm(start_vm, make_image, tmp_path):
    """``fleet_vm(name, profile, machine, options=[])`` -> (vm, its declaration with one disk)."""

    def start(name, profile='2.1.0', machine='micro', options=()):
        standard = machine == 'standard'
        socket_name = name + '.sock'
        vm = start_vm(
            profile,
            'standard' if standard else 'microvm',
            cmdline=['-name', name],
            name=socket_name,
            options=['--record', str(tmp_path / socket_name) + '.qmp.jsonl'] + (['--root-ports', '2'] if standard else []) + list(options),
        )
        disk = {'id': 'data0', 'path': make_image(name + '-data0.img', 8)}
        disk.update({'bus': 'pcie.1'} if standard else {'addr': '0x1'})
        return vm, {'name': name, 'socket': vm.socket_path, 'disks': [disk]}

    return start


def fleet_of(declared, check_mode=False, workers=4):
    checked, problems = validated_vms(declared)
    assert not problems, problems
    return Fleet(checked, KINDS, check_mode, workers)


def test_one_run_converges_both_machine_types_and_releases_and_names_the_vm_that_fails(fleet_vm):
    vms, declared = [], []
    for profile in PROFILES:
        for machine in MACHINES:
            vm, declaration = fleet_vm('%s-%s' % (machine, profile.replace('.', '')), profile, machine)
            vms.append(vm)
            declared.append(declaration)
    bad, bad_declaration = fleet_vm('bad', '2.1.0', 'micro', options=['--fault-fail', 'device_add'])
    declared.insert(1, bad_declaration)
    fleet = fleet_of(declared)
    result = fleet.run()
    by_name = {entry['name']: entry for entry in result['vms']}
    assert [entry['name'] for entry in result['vms']] == [vm['name'] for vm in declared]
    for vm, declaration in zip(vms, [vm for vm in declared if vm['name'] != 'bad']):
        entry = by_name[declaration['name']]
        assert entry['changed'] and not entry['failed'] and entry['msg'] == '', entry
        assert [command['execute'] for command in entry['commands']] == ['blockdev-add', 'device_add']
        # What the result says was sent is what the VM received, after the session's reads.
        assert [name for name in executed(vm) if name in MUTATING] == ['blockdev-add', 'device_add']
        assert entry['devices'][0]['device']['source'] == 'record'
        assert entry['stratovirt']['machine'] == ('standard' if declaration['name'].startswith('standard') else 'micro')
    failed = by_name['bad']
    assert failed['failed']
    assert failed['msg'].startswith('VM %s: ' % bad.socket_path) and 'injected failure' in failed['msg']
    assert result['failed_vms'] == ['bad']
    assert result['msg'].startswith('1 of %d VMs failed: bad (VM %s: ' % (len(declared), bad.socket_path))
    # The failed plug was rolled back, as by stratovirt_devices.
    assert [name for name in executed(bad) if name in MUTATING] == ['blockdev-add', 'device_add', 'device_del']
    assert result['changed']

    again = fleet_of([vm for vm in declared if vm['name'] != 'bad']).run()
    assert not again['changed'] and again['failed_vms'] == [] and 'msg' not in again
    assert all(entry['commands'] == [] for entry in again['vms'])


def test_check_mode_sends_nothing_and_gives_each_vm_its_plan_and_diff(fleet_vm):
    micro, micro_declared = fleet_vm('micro', '2.5.0', 'micro')
    standard, standard_declared = fleet_vm('standard', '2.1.0', 'standard')
    result = fleet_of([micro_declared, standard_declared], check_mode=True).run()
    assert [name for vm in (micro, standard) for name in executed(vm) if name in MUTATING] == []
    by_name = {entry['name']: entry for entry in result['vms']}
    assert result['changed'] and by_name['micro']['changed'] and by_name['standard']['changed']
    assert [command['execute'] for command in by_name['standard']['commands']] == ['blockdev-add', 'device_add']
    assert by_name['micro']['when'] == [None, None]
    assert sorted(result['diff']['after']) == ['micro', 'standard']
    assert result['diff']['before'] == {'micro': {}, 'standard': {}}
    assert result['diff']['after']['standard']['data0']['bus'] == 'pcie.1'
    assert result['diff']['after']['micro']['data0']['addr'] == '0x1'


def test_a_wrong_declaration_refuses_the_run_before_any_vm_is_contacted(fleet_vm):
    good, good_declared = fleet_vm('good')
    other, other_declared = fleet_vm('other')
    other_declared['disks'][0]['addr'] = 'zz'
    checked, problems = validated_vms([good_declared, other_declared, {'name': 'typo', 'socket': '/x', 'disk': []}])
    assert sorted(problems) == ['typo'] and 'disk' in problems['typo']
    fleet = Fleet(checked[:2], KINDS)
    with pytest.raises(FleetInputError) as raised:
        fleet.run()
    assert list(raised.value.problems) == ['other'] and 'zz' in raised.value.problems['other']
    assert raised.value.message.startswith('1 of the declared VMs is wrong, so nothing was sent to any VM: other: ')
    assert records(good) == [] and records(other) == []
    refused = fleet.refused(raised.value)
    assert [(entry['name'], entry['attempted'], entry['failed']) for entry in refused['vms']] == [('good', False, False), ('other', False, True)]


def test_two_vms_with_one_name_or_one_socket_are_refused(fleet_vm):
    dummy, declared = fleet_vm('one')
    with pytest.raises(FleetInputError) as raised:
        fleet_of([declared, dict(declared), dict(declared, name='alias')]).run()
    assert raised.value.problems == {
        'one': 'the name is declared twice (vms[0] and vms[1])',
        'alias': 'its socket %s is that of VM one too' % declared['socket'],
    }


def test_vms_are_converged_concurrently_each_in_one_whole_session_under_its_own_lock(fleet_vm):
    vms, declared = [], []
    for number in range(4):
        vm, declaration = fleet_vm('vm%d' % number, options=['--fault-delay', '0.1'])
        vms.append(vm)
        declared.append(declaration)
    result = fleet_of(declared, workers=4).run()
    assert result['failed_vms'] == []
    spans = []
    for vm in vms:
        whole = sessions(vm)
        assert len(whole) == 1, 'one session per VM'
        received = [json.loads(text)['execute'] for direction, text, dummy in whole[0] if direction == 'received']
        assert received[0] == 'query-version' and received[-2:] == ['blockdev-add', 'device_add']
        spans.append((whole[0][0][2], whole[0][-1][2]))
        assert os.path.isfile(lock_path_for(vm.socket_path)), 'each VM has its own lock'
    overlapping = [
        index
        for index, (start, end) in enumerate(spans)
        if any(other_start < end and start < other_end for other, (other_start, other_end) in enumerate(spans) if other != index)
    ]
    assert len(overlapping) >= 2, spans


def test_one_worker_converges_the_vms_one_after_the_other(fleet_vm):
    vms, declared = [], []
    for number in range(3):
        vm, declaration = fleet_vm('vm%d' % number, options=['--fault-delay', '0.05'])
        vms.append(vm)
        declared.append(declaration)
    fleet_of(declared, workers=1).run()
    # From a session's first record to the last command the VM received: a simulator stamps what it sent after
    # sending it, by which time the client may already be talking to the next VM.
    spans = [(sessions(vm)[0][0][2], max(stamp for direction, dummy, stamp in sessions(vm)[0] if direction == 'received')) for vm in vms]
    assert all(earlier[1] <= later[0] for earlier, later in zip(spans, spans[1:])), spans


def test_run_bounded_keeps_the_order_and_the_bound():
    running, peak, lock = [0], [0], threading.Lock()

    def work(item):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return item * 2

    assert run_bounded(work, list(range(10)), 3) == [item * 2 for item in range(10)]
    assert peak[0] == 3


@pytest.mark.parametrize('profile', PROFILES)
def test_one_socket_under_two_hard_linked_names_is_refused_before_any_vm_is_contacted(profile, fleet_vm, tmp_path):
    dummy, first = fleet_vm('first', profile)
    third, last = fleet_vm('third', profile)
    linked = str(tmp_path / 'linked.sock')
    os.link(first['socket'], linked)
    try:
        with pytest.raises(FleetInputError) as raised:
            fleet_of([first, dict(first, name='second', socket=linked), last]).run()
    finally:
        os.unlink(linked)
    assert raised.value.problems == {'second': 'its socket %s is that of VM first too' % linked}
    assert records(third) == [], 'nothing is sent to any VM'


@pytest.mark.parametrize(
    'names,problems',
    [
        (['', ''], {'vms[0]': "the name is '': it must be a non-empty string", 'vms[1]': "the name is '': it must be a non-empty string"}),
        (['web\nfake: ok', 'db'], {'vms[0]': "the VM: option name is 'web\\nfake: ok', which holds a control character (newline, tab, ...): remove it"}),
        (['tab\there', 'db'], {'vms[0]': "the VM: option name is 'tab\\there', which holds a control character (newline, tab, ...): remove it"}),
        (['db', 'db'], {'db': 'the name is declared twice (vms[0] and vms[1])'}),
    ],
)
def test_vm_names_are_non_empty_free_of_control_characters_and_unique_before_any_vm_is_contacted(names, problems, fleet_vm):
    started = [fleet_vm('vm%d' % number) for number in range(len(names))]
    declared = [dict(declaration, name=name) for name, (dummy, declaration) in zip(names, started)]
    checked, dummy = validated_vms(declared)
    fleet = Fleet(checked, KINDS)
    with pytest.raises(FleetInputError) as raised:
        fleet.run()
    assert raised.value.problems == problems
    assert '\n' not in raised.value.message and all(records(vm) == [] for vm, dummy in started)
    assert [entry['name'] for entry in fleet.refused(raised.value)['vms']] == [name if name == 'db' else 'vms[%d]' % n for n, name in enumerate(names)]


@pytest.mark.parametrize('profile', PROFILES)
def test_a_check_mode_run_that_fails_says_nothing_would_change(profile, fleet_vm):
    vm, declaration = fleet_vm('shared', profile)
    other, other_declaration = fleet_vm('fine', profile)
    image = declaration['disks'][0]['path']
    # Another process writes to the image: the real run would refuse it before sending anything, so would check mode.
    writer = subprocess.Popen(
        [sys.executable, '-c', 'import os, sys; fd = os.open(sys.argv[1], os.O_RDWR); print(1, flush=True); sys.stdin.read()', image],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        writer.stdout.readline()
        result = fleet_of([declaration, other_declaration], check_mode=True).run()
    finally:
        writer.kill()
        writer.wait()
    by_name = {entry['name']: entry for entry in result['vms']}
    assert by_name['shared']['failed'] and not by_name['shared']['changed'] and by_name['shared']['commands'] == [], by_name['shared']
    assert [device['changed'] for device in by_name['shared']['devices']] == [False]
    assert by_name['fine']['changed'] and result['changed'], 'the VM that would change still says so'
    assert [name for name in executed(vm) + executed(other) if name in MUTATING] == []
