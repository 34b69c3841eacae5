# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every recorded exchange of real StratoVirt VMs (2.1.0 to 2.5.0, micro and standard), replayed against the simulator."""

from __future__ import annotations

import json
import os
import socket

import pytest

import replay


@pytest.fixture(scope='module')
def results():
    return replay.replay()


def test_replay_is_identical_but_for_listed_exceptions(results, figures):
    figures(replay.figure(results))
    unexpected = ['record %d: %s' % (result.index, result.detail) for result in results if not result.identical and result.index not in replay.EXCEPTIONS]
    assert not unexpected, '\n'.join(unexpected)
    assert len(results) == 179


def test_every_exception_has_a_reason(results):
    for result in results:
        if result.index in replay.EXCEPTIONS:
            assert replay.EXCEPTIONS[result.index]
            assert not result.identical, 'a listed exception that now matches should leave the list'


# The recordings replayed one test each (a replay takes ~20 s), with their record counts.
RECORDINGS = {'2.1.0-standard': 115, '2.5.0-standard': 90, '2.5.0-microvm': 30}
# 2.2.0 to 2.4.0: the 2.5.0 recordings' steps on each real binary (tests/fixtures/transcripts/README.md).
RECORDINGS.update({'%s-%s' % (release, machine): count for release in ('2.2.0', '2.3.0', '2.4.0') for machine, count in (('microvm', 30), ('standard', 90))})


@pytest.mark.parametrize('recording', sorted(RECORDINGS))
def test_recording_replays_identical_but_for_listed_exceptions(recording, figures):
    """Figures, no unlisted difference, only shortened listening listed."""
    transcript = os.path.join(replay.TRANSCRIPTS, 'stratovirt-%s.jsonl' % recording)
    replayed = replay.replay(transcript)
    figures('%s (%s)' % (replay.figure(replayed), recording))
    differences = ['record %d: %s' % (result.index, result.detail) for result in replay.unexpected(replayed)]
    assert not differences, '\n'.join(differences)
    assert len(replayed) == RECORDINGS[recording]
    listed = replay.listed_exceptions(transcript)
    for result in replayed:
        if result.index in listed:
            assert listed[result.index].startswith('its reader listened')
            assert not result.identical
        else:
            assert result.identical, result.detail


def test_listening_longer_than_the_cap_is_listed():
    records = [
        {'note': 'the reader kept listening for 20 s after sending'},
        {'note': 'the reader kept listening for 1 s'},
        {'note': 'guest serial after this step: (no new lines)'},
    ]
    plan = replay.plan_for('stratovirt-2.5.0-standard.jsonl')
    listed = replay.exceptions_of(plan, records)
    assert list(listed) == ([0] if replay.LISTEN_CAP < 20 else [])


def test_plans_follow_the_file_name():
    assert replay.plan_for('/x/stratovirt-2.1.0-standard.jsonl').launches[4][0][:2] == ['--guest', 'ack']
    assert replay.plan_for('/x/stratovirt-2.5.0-standard.jsonl').launches[4][0][:2] == ['--guest', 'blink']
    assert replay.plan_for('/x/stratovirt-2.1.0-microvm.jsonl').machine == 'microvm'
    assert replay.plan_for('/x/stratovirt-2.5.0-microvm.jsonl').profile == '2.5.0'
    # OVMF answered no attention button when the middle releases were recorded: every VM is deaf.
    assert {options[1] for options, dummy in replay.plan_for('/x/stratovirt-2.3.0-standard.jsonl').launches.values()} == {'deaf'}
    with pytest.raises(ValueError):
        replay.plan_for('/x/stratovirt-2.0.0-microvm.jsonl')


def _connect(path):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.settimeout(3)
    return conn


def test_exception_vm4_unknown_device_del_is_an_error_reply_not_a_death(start_vm):
    """VM 4 died only because of RUST_BACKTRACE=1; a correctly launched StratoVirt answers (record 97)."""
    vm = start_vm('2.1.0')
    conn = _connect(vm.socket_path)
    conn.recv(4096)
    conn.sendall(b'{"execute":"device_del","arguments":{"id":"nosuchdev"}}\n')
    assert conn.recv(4096) == b'{"error":{"class":"GenericError","desc":"Device nosuchdev not found"}}\r\n'
    assert vm.alive()


def test_exception_probe_closed_before_its_greeting_kills_the_vm(start_vm):
    """Record 129's probes, made deterministic: the probe waits queued and is gone when greeted."""
    vm = start_vm('2.1.0')
    holder = _connect(vm.socket_path)
    holder.recv(4096)
    _connect(vm.socket_path).close()
    holder.close()
    assert vm.wait_exit(3) == 101
    assert not os.path.exists(vm.socket_path)


def test_exception_probe_that_reads_its_greeting_is_harmless(start_vm):
    vm = start_vm('2.1.0')
    for dummy in range(20):
        probe = _connect(vm.socket_path)
        assert json.loads(probe.recv(4096))['QMP']['version']['package'] == ''
        probe.close()
    assert vm.alive()


# The resource recordings: every record the collection's traffic can meet is replayed; the rest is listed, not sent.
RESOURCE_RECORDINGS = {'2.1.0-resources': (191, 112), '2.5.0-resources': (183, 101)}


@pytest.mark.parametrize('recording', sorted(RESOURCE_RECORDINGS))
def test_resource_recording_replays_what_the_collection_sends(recording, figures):
    transcript = os.path.join(replay.TRANSCRIPTS, 'stratovirt-%s.jsonl' % recording)
    replayed = replay.replay(transcript)
    figures('%s (%s)' % (replay.figure(replayed), recording))
    differences = ['record %d: %s' % (result.index, result.detail) for result in replay.unexpected(replayed)]
    assert not differences, '\n'.join(differences)
    records, identical = RESOURCE_RECORDINGS[recording]
    assert (len(replayed), sum(result.identical for result in replayed)) == (records, identical)
    sent = {json.loads(record['send'])['execute'] for record, result in zip(replay.load(transcript), replayed) if result.identical and record.get('send')}
    assert {'query-cpus', 'query-hotpluggable-cpus', 'query-balloon', 'balloon', 'query-iothreads'} <= sent


def test_no_vcpu_hot_plug_and_nothing_after_the_hang_is_replayed():
    transcript = os.path.join(replay.TRANSCRIPTS, 'stratovirt-2.5.0-resources.jsonl')
    records = replay.load(transcript)
    plan = replay.resource_plan(replay.plan_for(transcript), records)
    for index, record in enumerate(records):
        if 'generic-x86-cpu' in (record.get('send') or '') or record['section'].startswith('d:'):
            assert index in plan.not_replayed
    hang = next(index for index, record in enumerate(records) if 'generic-x86-cpu' in (record.get('send') or '') and record['recv'] == ['{"return":{}}\r\n'])
    assert all(index in plan.not_replayed for index, record in enumerate(records) if index > hang and record['vm'] == records[hang]['vm'])
