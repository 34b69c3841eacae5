# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-VM record of the devices this collection hot-plugged.

Private to the stratovirt.qmp collection: may change in any release.

StratoVirt cannot report hot-plugged devices (query-block and friends return
[]), so the collection remembers what it plugged in ``<socket>.devices.json``,
next to the ``<socket>.lock`` the QMP client takes. The record is bound to the
VM process (pid and start time): a restarted VM has lost every hot-plugged
device, so the record of an earlier process is void.

A file we cannot trust to be ours (a symlink, another owner, writable by
group or others) or cannot parse is refused with :class:`RecordError`: it is
never trusted and never silently dropped. Callers load, change and save the
record while holding the per-VM lock; the record does no locking of its own.
An emptied record is still written, not deleted: it says "this VM process has
none of our devices", which a missing file cannot tell from "never managed".

Standard library only and no Ansible imports.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
import time
from typing import Any, Dict, Optional

from .model import SOURCE_RECORD, Device
from .._collection_error import CollectionError

RECORD_VERSION = 1
RECORD_SUFFIX = '.devices.json'
DEVICE_KINDS = ('disk', 'nic')
DEVICE_STATES = ('plugging', 'plugged', 'unplug-pending', 'tap-held')
# Options version 1 of the format keeps as fields of their own, beside ``options``: what the host view checks.
OPTIONS_AS_FIELDS = ('path', 'ifname')
_OPTIONAL_STR_FIELDS = ('bus', 'addr') + OPTIONS_AS_FIELDS
_ENTRY_FIELDS = ('id', 'kind', 'slot') + _OPTIONAL_STR_FIELDS + ('options', 'state', 'plugged_at')


class RecordError(CollectionError):
    """The device record cannot be read, trusted or written."""

    def __init__(self, message: str, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.path = path


def record_path_for(socket_path: str) -> str:
    """:returns: the device record of the VM whose monitor is at ``socket_path``."""
    return os.path.realpath(socket_path) + RECORD_SUFFIX


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but True is never a pid, start time or slot.
    return isinstance(value, int) and not isinstance(value, bool)


class DeviceEntry:
    """One device this collection plugged into the VM.

    :param device_id: the QMP id of the device (``id`` attribute).
    :param kind: ``'disk'`` or ``'nic'``.
    :param state: ``'plugging'`` (written before the first QMP step of a plug, so an interrupted run is
        known), ``'plugged'``, ``'unplug-pending'`` or ``'tap-held'``.
    :param slot: the virtio-mmio slot (micro VM), else None.
    :param bus: the PCI bus (standard VM), else None.
    :param addr: the PCI address (standard VM), else None.
    :param path: the image file of a disk, else None.
    :param ifname: the tap of a NIC, else None.
    :param options: further settings (read_only, direct, aio, serial, mac, ...).
    :param plugged_at: seconds since the epoch; now if omitted.
    :raises ValueError: a field has an invalid type or value.
    """

    __slots__ = _ENTRY_FIELDS

    def __init__(
        self,
        device_id: str,
        kind: str,
        *,
        state: str = 'plugged',
        slot: Optional[int] = None,
        bus: Optional[str] = None,
        addr: Optional[str] = None,
        path: Optional[str] = None,
        ifname: Optional[str] = None,
        options: Optional[Dict[str, Any]] = None,
        plugged_at: Optional[float] = None,
    ) -> None:
        self.id = device_id
        self.kind = kind
        self.state = state
        self.slot = slot
        self.bus = bus
        self.addr = addr
        self.path = path
        self.ifname = ifname
        self.options = {} if options is None else options
        self.plugged_at = time.time() if plugged_at is None else plugged_at
        self._validate()

    def _validate(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError('device id must be a non-empty string, not %r' % (self.id,))
        for name, allowed in (('kind', DEVICE_KINDS), ('state', DEVICE_STATES)):
            if getattr(self, name) not in allowed:
                raise ValueError('device %s: unknown %s %r (expected one of %s)' % (self.id, name, getattr(self, name), ', '.join(allowed)))
        if self.slot is not None and not _is_int(self.slot):
            raise ValueError('device %s: slot must be an integer or null, not %r' % (self.id, self.slot))
        for name in _OPTIONAL_STR_FIELDS:
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError('device %s: %s must be a string or null, not %r' % (self.id, name, getattr(self, name)))
        if not isinstance(self.options, dict):
            raise ValueError('device %s: options must be an object, not %r' % (self.id, self.options))
        if isinstance(self.plugged_at, bool) or not isinstance(self.plugged_at, (int, float)):
            raise ValueError('device %s: plugged_at must be a number, not %r' % (self.id, self.plugged_at))

    @classmethod
    def from_device(cls, device: Device, state: str = 'plugged', addr: Optional[str] = None) -> DeviceEntry:
        """The record entry of ``device`` (its options in normal form)."""
        options = dict(device.options)
        fields = {name: options.pop(name, None) for name in OPTIONS_AS_FIELDS}
        return cls(device.id, device.kind, state=state, slot=device.slot, bus=device.bus, addr=addr, options=options, **fields)

    def as_device(self, pending: bool = False, source: str = SOURCE_RECORD) -> Device:
        """The device this entry says is plugged (or was, for ``tap-held`` and ``plugging`` entries)."""
        options = dict(self.options)
        options.update((name, getattr(self, name)) for name in OPTIONS_AS_FIELDS if getattr(self, name) is not None)
        return Device(self.id, self.kind, self.slot, self.bus, options, source, pending)

    def to_dict(self) -> Dict[str, Any]:
        """:returns: the entry as a JSON-ready dict."""
        return {name: getattr(self, name) for name in _ENTRY_FIELDS}

    @classmethod
    def from_dict(cls, data: Any) -> DeviceEntry:
        """Rebuild an entry written by :meth:`to_dict`.

        :raises RecordError: ``data`` is not a valid entry (missing, unknown or invalid fields).
        """
        if not isinstance(data, dict):
            raise RecordError('device entry must be an object, not %r' % (data,))
        missing = sorted(set(_ENTRY_FIELDS) - set(data))
        unknown = sorted(set(data) - set(_ENTRY_FIELDS))
        if missing or unknown:
            raise RecordError('device entry %r: missing fields %s, unknown fields %s' % (data.get('id'), missing, unknown))
        fields = dict(data)
        fields['device_id'] = fields.pop('id')
        try:
            return cls(**fields)
        except ValueError as exc:
            raise RecordError(str(exc)) from exc

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceEntry) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, so unhashable

    def __repr__(self) -> str:
        return 'DeviceEntry(%s)' % ', '.join('%s=%r' % item for item in self.to_dict().items())


class DeviceRecord:
    """The devices this collection plugged into one VM process.

    Constructing it does no I/O; :meth:`load` reads the file and :meth:`save` writes it.

    :param path: the record file, normally :func:`record_path_for` of the monitor socket.
    :param pid: pid of the VM process the record must belong to.
    :param start_time: start time of that process (``/proc/<pid>/stat`` field 22), so a reused pid is told apart.
    """

    def __init__(self, path: str, pid: int, start_time: int) -> None:
        self.path = path
        self.pid = pid
        self.start_time = start_time
        # Insertion order is plug order: entries are appended as they are plugged.
        self.devices: Dict[str, DeviceEntry] = {}
        # Set by load() when the file belonged to an earlier VM process: what was voided.
        self.discarded: Optional[Dict[str, Any]] = None

    def get(self, device_id: str) -> Optional[DeviceEntry]:
        """:returns: the entry of ``device_id``, or None."""
        return self.devices.get(device_id)

    def put(self, entry: DeviceEntry) -> None:
        """Add ``entry``, or replace the entry with its id in place (keeping its position)."""
        self.devices[entry.id] = entry

    def remove(self, device_id: str) -> Optional[DeviceEntry]:
        """:returns: the removed entry of ``device_id``, or None if there was none."""
        return self.devices.pop(device_id, None)

    def _fail(self, problem: str, advice: str = 'inspect it and delete it if the VM has none of our devices left') -> RecordError:
        return RecordError('device record %s %s; %s' % (self.path, problem, advice), self.path)

    def load(self) -> None:
        """Read the record file, if any, replacing what this object holds.

        A missing file gives an empty record. A file of another VM process
        (pid or start time differs) gives an empty record too, and sets
        :attr:`discarded` to ``{'pid', 'start_time', 'devices': [ids]}``.

        :raises RecordError: the file is a symlink or not a regular file, is owned by another user,
            is group or other writable, cannot be read, is not valid JSON or has another version.
        """
        self.devices = {}
        self.discarded = None
        raw = self._read_trusted()
        if raw is None:
            return
        try:
            content = json.loads(raw.decode('utf-8'))
        except ValueError as exc:
            raise self._fail('is not valid JSON (%s)' % exc) from exc
        vm_pid, vm_start_time, entries = self._parse(content)
        if (vm_pid, vm_start_time) != (self.pid, self.start_time):
            self.discarded = {'pid': vm_pid, 'start_time': vm_start_time, 'devices': [entry.id for entry in entries]}
            return
        for entry in entries:
            self.devices[entry.id] = entry

    def _read_trusted(self) -> Optional[bytes]:
        # O_NOFOLLOW: a symlink planted at the record path must not redirect us. O_NONBLOCK: a FIFO must not hang us.
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise self._fail('is a symlink, which is never followed', 'replace it with the real file or delete it') from exc
            raise self._fail('cannot be read (%s)' % exc.strerror, 'check its permissions') from exc
        try:
            info = os.fstat(fd)
            # Checked on the open descriptor, so the file cannot be swapped between check and read.
            if not stat.S_ISREG(info.st_mode):
                raise self._fail('is not a regular file', 'delete or move it')
            if info.st_uid != os.geteuid():
                raise self._fail(
                    'is owned by uid %d, not by us (uid %d)' % (info.st_uid, os.geteuid()), 'another user may have written it: inspect it, then delete it'
                )
            if info.st_nlink != 1:
                raise self._fail('has %d hard links: it may be a link to another file' % info.st_nlink, 'inspect it, then delete it')
            if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise self._fail(
                    'is writable by group or others (mode %04o)' % stat.S_IMODE(info.st_mode),
                    'another user may have changed it: inspect it, then chmod 600 or delete it',
                )
            with os.fdopen(fd, 'rb') as stream:
                fd = -1  # the stream owns it now
                return stream.read()
        except OSError as exc:
            raise self._fail('cannot be read (%s)' % exc.strerror, 'check the file') from exc
        finally:
            if fd >= 0:
                os.close(fd)

    def _parse(self, content: Any):
        if not isinstance(content, dict):
            raise self._fail('does not hold a JSON object')
        if content.get('version') != RECORD_VERSION:
            raise self._fail(
                'has version %r, this collection reads version %d' % (content.get('version'), RECORD_VERSION),
                'it was written by another release of stratovirt.qmp: inspect it, then delete it',
            )
        vm = content.get('vm')
        if not isinstance(vm, dict) or not _is_int(vm.get('pid')) or not _is_int(vm.get('start_time')):
            raise self._fail('has no valid "vm" identity (integer pid and start_time)')
        if not isinstance(content.get('devices'), list):
            raise self._fail('has no "devices" list')
        try:
            entries = [DeviceEntry.from_dict(item) for item in content['devices']]
        except RecordError as invalid:
            # The entry's own message is the whole cause: no chained traceback needed.
            raise self._fail('has an invalid entry: %s' % invalid.message) from None
        ids = [entry.id for entry in entries]
        if len(set(ids)) != len(ids):
            raise self._fail('lists a device id more than once')
        return vm['pid'], vm['start_time'], entries

    def save(self) -> None:
        """Write the record atomically, mode 0600; an empty record is written too.

        The content goes to a new temporary file in the same directory that
        then replaces the record, so readers see the old or the new record,
        never a mix. On failure the old record stays and the temporary file is removed.

        :raises RecordError: the record cannot be written.
        """
        directory = os.path.dirname(os.path.abspath(self.path))
        content = {
            'version': RECORD_VERSION,
            'vm': {'pid': self.pid, 'start_time': self.start_time, 'socket': self._socket_path()},
            'devices': [entry.to_dict() for entry in self.devices.values()],
            'updated_at': time.time(),
        }
        try:
            text = json.dumps(content, sort_keys=True, indent=2) + '\n'
        except (TypeError, ValueError) as exc:
            raise self._fail(
                'cannot be written: a device option is not JSON serialisable (%s)' % exc,
                'the previous record, if any, is unchanged; pass options as strings, numbers, booleans, lists or dicts',
            ) from exc
        tmp_path = None
        try:
            # mkstemp opens with O_CREAT | O_EXCL | O_NOFOLLOW and mode 0600 whatever the umask; os.replace keeps that mode.
            fd, tmp_path = tempfile.mkstemp(prefix='.' + os.path.basename(self.path) + '.', suffix='.tmp', dir=directory)
            # No fsync: the record is bound to the VM process, which a host crash ends too (voiding the record);
            # the rename alone keeps it whole against what does happen, a run killed half-way.
            with os.fdopen(fd, 'w', encoding='utf-8') as stream:
                stream.write(text)
            # rename replaces a symlink planted at the target, never the file it points to.
            os.replace(tmp_path, self.path)
            tmp_path = None
        except OSError as exc:
            raise self._fail(
                'cannot be written (%s)' % (exc.strerror or exc), 'the previous record, if any, is unchanged; check that %s is writable' % directory
            ) from exc
        finally:
            if tmp_path is not None:
                # Best effort: the error that brought us here is the one worth reporting.
                with contextlib.suppress(OSError):
                    os.unlink(tmp_path)

    def _socket_path(self) -> Optional[str]:
        return self.path[: -len(RECORD_SUFFIX)] if self.path.endswith(RECORD_SUFFIX) else None
