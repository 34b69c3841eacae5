# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-VM device record: round trip, identity binding, refusal of untrusted files, atomic saves."""

from __future__ import annotations

import errno
import json
import os
import stat

import pytest

from ansible_collections.stratovirt.qmp.plugins.module_utils._device import record as _device_record
from ansible_collections.stratovirt.qmp.plugins.module_utils._device.record import (
    RECORD_VERSION,
    DeviceEntry,
    DeviceRecord,
    RecordError,
    record_path_for,
)

PID = 4242
START_TIME = 987654


def disk(device_id='disk0', **fields):
    fields.setdefault('slot', 3)
    fields.setdefault('path', '/var/lib/images/data.img')
    fields.setdefault('options', {'read_only': False, 'direct': True, 'aio': 'native', 'serial': 'S1'})
    return DeviceEntry(device_id, 'disk', plugged_at=1000.0, **fields)


def nic(device_id='net0', **fields):
    fields.setdefault('bus', 'pcie.0')
    fields.setdefault('addr', '0x5')
    fields.setdefault('ifname', 'tap0')
    fields.setdefault('options', {'mac': '52:54:00:12:34:56'})
    return DeviceEntry(device_id, 'nic', plugged_at=1001.5, **fields)


def saved_record(path, devices=(), pid=PID, start_time=START_TIME):
    record = DeviceRecord(path, pid, start_time)
    for entry in devices:
        record.put(entry)
    record.save()
    return record


def loaded(path, pid=PID, start_time=START_TIME):
    record = DeviceRecord(path, pid, start_time)
    record.load()
    return record


def temp_files(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith('.tmp'))


@pytest.fixture(name='path')
def fixture_path(tmp_path):
    return record_path_for(str(tmp_path / 'qmp.sock'))


def test_record_sits_next_to_the_socket_lock(tmp_path):
    sock = str(tmp_path / 'qmp.sock')
    assert record_path_for(sock) == os.path.realpath(sock) + '.devices.json'


def test_construction_does_no_io(tmp_path, path):
    saved_record(path, [disk()])
    before = os.stat(path)
    # Neither read (a constructor that loaded would hold disk0) nor written (the file stays as it was) ...
    record = DeviceRecord(path, PID, START_TIME)
    assert record.devices == {} and record.discarded is None
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    # ... nor created: a constructor that saved would leave an empty record next to the socket.
    DeviceRecord(record_path_for(str(tmp_path / 'other.sock')), PID, START_TIME)
    assert sorted(os.listdir(str(tmp_path))) == [os.path.basename(path)]


def test_missing_file_loads_empty(path):
    record = loaded(path)
    assert record.devices == {} and record.discarded is None


def test_round_trip_keeps_every_field(path):
    saved_record(path, [disk(), nic(state='tap-held')])
    record = loaded(path)
    assert list(record.devices) == ['disk0', 'net0']
    assert record.get('disk0') == disk()
    assert record.get('net0') == nic(state='tap-held')
    assert record.get('net0').options == {'mac': '52:54:00:12:34:56'}
    assert record.discarded is None


def test_file_content_layout(path):
    saved_record(path, [disk()])
    with open(path, encoding='utf-8') as stream:
        content = json.load(stream)
    assert content['version'] == RECORD_VERSION
    assert content['vm'] == {'pid': PID, 'start_time': START_TIME, 'socket': path[: -len('.devices.json')]}
    assert content['devices'] == [disk().to_dict()]
    assert isinstance(content['updated_at'], float)


def test_entries_keep_insertion_order_and_replace_in_place(path):
    record = DeviceRecord(path, PID, START_TIME)
    for device_id in ('zeta', 'alpha', 'mid'):
        record.put(disk(device_id))
    record.put(disk('alpha', state='unplug-pending'))
    assert list(record.devices) == ['zeta', 'alpha', 'mid']
    record.save()
    again = loaded(path)
    assert list(again.devices) == ['zeta', 'alpha', 'mid']
    assert again.get('alpha').state == 'unplug-pending'


def test_remove_and_empty_record_is_still_written(path):
    record = saved_record(path, [disk()])
    assert record.remove('disk0') == disk()
    assert record.remove('disk0') is None
    record.save()
    with open(path, encoding='utf-8') as stream:
        assert json.load(stream)['devices'] == []
    assert loaded(path).devices == {}


@pytest.mark.parametrize('pid, start_time', [(PID + 1, START_TIME), (PID, START_TIME + 1)])
def test_other_vm_process_voids_the_record(path, pid, start_time):
    saved_record(path, [disk(), nic()])
    record = loaded(path, pid, start_time)
    assert record.devices == {}
    assert record.discarded == {'pid': PID, 'start_time': START_TIME, 'devices': ['disk0', 'net0']}
    record.save()
    assert loaded(path, pid, start_time).discarded is None


def test_corrupt_json_names_the_file(path):
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write('{"version": 1, "vm": ')
    os.chmod(path, 0o600)
    with pytest.raises(RecordError, match='not valid JSON') as info:
        loaded(path)
    assert path in str(info.value) and 'delete' in str(info.value)
    assert info.value.path == path


@pytest.mark.parametrize(
    'mutate, message',
    [
        (lambda content: content.update(version=RECORD_VERSION + 1), 'has version 2'),
        (lambda content: content.pop('version'), 'has version None'),
        (lambda content: content['vm'].pop('start_time'), 'no valid "vm" identity'),
        (lambda content: content.update(devices={}), 'no "devices" list'),
        (lambda content: content['devices'].append(dict(content['devices'][0])), 'more than once'),
        (lambda content: content['devices'][0].update(kind='usb'), "unknown kind 'usb'"),
        (lambda content: content['devices'][0].pop('slot'), 'missing fields'),
    ],
)
def test_invalid_content_is_refused(path, mutate, message):
    saved_record(path, [disk()])
    with open(path, encoding='utf-8') as stream:
        content = json.load(stream)
    mutate(content)
    with open(path, 'w', encoding='utf-8') as stream:
        json.dump(content, stream)
    with pytest.raises(RecordError, match=message) as info:
        loaded(path)
    assert path in str(info.value)


def test_save_writes_mode_0600_even_over_a_wider_file(path):
    with open(path, 'w', encoding='utf-8') as stream:
        stream.write('{}')
    os.chmod(path, 0o644)
    old_umask = os.umask(0)
    try:
        saved_record(path, [disk()])
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize('mode', [0o620, 0o602, 0o666])
def test_group_or_other_writable_file_is_refused(path, mode):
    saved_record(path, [disk()])
    os.chmod(path, mode)
    with pytest.raises(RecordError, match='writable by group or others') as info:
        loaded(path)
    assert path in str(info.value)


def test_group_readable_file_is_accepted(path):
    saved_record(path, [disk()])
    os.chmod(path, 0o640)
    assert list(loaded(path).devices) == ['disk0']


def test_file_of_another_owner_is_refused(path):
    saved_record(path, [disk()])
    other_uid = os.geteuid() + 1000
    if os.geteuid() != 0:
        pytest.skip('only root can give a file away')
    os.chown(path, other_uid, -1)
    with pytest.raises(RecordError, match='owned by uid %d' % other_uid):
        loaded(path)


def test_owner_check_compares_with_the_effective_uid(path, monkeypatch):
    # Runs as any user: pretend to be someone else instead of giving the file away.
    saved_record(path, [disk()])
    monkeypatch.setattr(_device_record.os, 'geteuid', lambda: os.stat(path).st_uid + 1)
    with pytest.raises(RecordError, match='owned by uid'):
        loaded(path)


def test_symlink_at_the_record_path_is_refused(path, tmp_path):
    target = str(tmp_path / 'elsewhere.json')
    saved_record(target, [disk()])
    os.symlink(target, path)
    with pytest.raises(RecordError, match='symlink') as info:
        loaded(path)
    assert path in str(info.value)


def test_save_replaces_a_symlink_instead_of_writing_through_it(path, tmp_path):
    target = tmp_path / 'victim'
    target.write_text('precious')
    os.symlink(str(target), path)
    saved_record(path, [disk()])
    assert target.read_text() == 'precious'
    assert not os.path.islink(path) and list(loaded(path).devices) == ['disk0']


def test_hard_link_at_the_record_path_is_refused(path, tmp_path):
    # A hard link planted in a world-writable socket directory would make us read (and trust) another file.
    target = str(tmp_path / 'elsewhere.json')
    saved_record(target, [disk()])
    os.link(target, path)
    with pytest.raises(RecordError, match='has 2 hard links'):
        loaded(path)


def test_non_regular_file_is_refused(path):
    os.mkfifo(path, 0o600)
    with pytest.raises(RecordError, match='not a regular file'):
        loaded(path)


@pytest.mark.parametrize('failing', ['replace', 'fdopen'])
def test_failed_save_keeps_the_previous_file_and_leaves_no_temp_file(path, tmp_path, monkeypatch, failing):
    saved_record(path, [disk()])
    with open(path, 'rb') as stream:
        before = stream.read()

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, 'Input/output error')

    record = loaded(path)
    record.put(nic())
    monkeypatch.setattr(_device_record.os, failing, fail)
    with pytest.raises(RecordError, match='cannot be written') as info:
        record.save()
    monkeypatch.undo()
    assert path in str(info.value) and 'unchanged' in str(info.value)
    with open(path, 'rb') as stream:
        assert stream.read() == before
    assert temp_files(str(tmp_path)) == []


def test_unserialisable_option_fails_cleanly(path, tmp_path):
    saved_record(path, [disk()])
    record = loaded(path)
    record.put(nic(options={'mac': object()}))
    with pytest.raises(RecordError, match='not JSON serialisable'):
        record.save()
    assert list(loaded(path).devices) == ['disk0']
    assert temp_files(str(tmp_path)) == []


def test_save_into_a_missing_directory_fails(tmp_path):
    record = DeviceRecord(str(tmp_path / 'gone' / 'qmp.sock.devices.json'), PID, START_TIME)
    with pytest.raises(RecordError, match='cannot be written'):
        record.save()


def test_save_into_a_read_only_directory_fails(tmp_path, monkeypatch):
    directory = tmp_path / 'ro'
    directory.mkdir()
    path = str(directory / 'qmp.sock.devices.json')
    directory.chmod(0o500)
    try:
        if os.geteuid() == 0:
            # root ignores the mode bits: have the temp file creation fail as it would for anyone else.
            def refuse(*args, **kwargs):
                raise PermissionError(errno.EACCES, 'Permission denied')

            monkeypatch.setattr(_device_record.tempfile, 'mkstemp', refuse)
        with pytest.raises(RecordError, match='Permission denied') as info:
            DeviceRecord(path, PID, START_TIME).save()
        assert path in str(info.value) and str(directory) in str(info.value)
        assert os.listdir(str(directory)) == []
    finally:
        directory.chmod(0o700)


@pytest.mark.parametrize(
    'field, value, message',
    [
        ('kind', 'usb', "unknown kind 'usb'"),
        ('state', 'gone', "unknown state 'gone'"),
        ('slot', 'three', 'slot must be an integer'),
        ('slot', True, 'slot must be an integer'),
        ('path', 7, 'path must be a string'),
        ('options', [], 'options must be an object'),
        ('plugged_at', 'noon', 'plugged_at must be a number'),
        ('id', '', 'non-empty string'),
    ],
)
def test_from_dict_rejects_invalid_fields(field, value, message):
    data = disk().to_dict()
    data[field] = value
    with pytest.raises(RecordError, match=message):
        DeviceEntry.from_dict(data)


def test_from_dict_rejects_unknown_fields_and_non_objects():
    with pytest.raises(RecordError, match='unknown fields'):
        DeviceEntry.from_dict(dict(disk().to_dict(), colour='red'))
    with pytest.raises(RecordError, match='must be an object'):
        DeviceEntry.from_dict(['disk0'])


def test_constructor_rejects_invalid_values():
    with pytest.raises(ValueError, match="unknown state 'lost'"):
        DeviceEntry('disk0', 'disk', state='lost')
