# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The device a task declares, checked for form before anything is sent.

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

import os
import re
from typing import Any, Dict, NamedTuple, Optional

from ._errors import DeviceInputError

KIND_DISK = 'disk'
KIND_NIC = 'nic'
# StratoVirt takes ids up to 255 characters; the record, error texts and command lines want plain words.
# Patterns are matched with fullmatch: a '$' would also match before a final newline, which would then be sent.
ID_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')
ADDR_PATTERN = re.compile(r'0[xX][0-9a-fA-F]{1,4}|[0-9]{1,4}')
MAC_PATTERN = re.compile(r'[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}')
# Linux interface names: at most 15 bytes, no '/', no white space, not '.' or '..'.
IFNAME_PATTERN = re.compile(r'(?!\.{1,2}\Z)[^/\s:]{1,15}')
SERIAL_PATTERN = re.compile(r'[\x21-\x7e]{1,20}')
CONTROL_CHARACTERS = re.compile(r'[\x00-\x1f\x7f]')
# The string options of a device, checked for control characters before anything else.
STRING_OPTIONS = ('id', 'state', 'addr', 'bus', 'on_change', 'path', 'aio', 'serial', 'ifname', 'mac')
AIO_CHOICES = ('off', 'native', 'threads', 'iouring')


class DeviceSpec(NamedTuple):
    """One declared device, as the module's options give it (None: not set by the task)."""

    kind: str
    id: str
    state: str = 'present'
    slot: Optional[int] = None
    bus: Optional[str] = None
    on_change: str = 'fail'
    allow_cold_unplug: bool = False
    path: Optional[str] = None
    read_only: bool = False
    direct: bool = True
    aio: Optional[str] = None
    serial: Optional[str] = None
    ifname: Optional[str] = None
    mac: Optional[str] = None
    create_tap: bool = False


def parse_addr(addr: Optional[str], device_id: str) -> Optional[int]:
    """``"0x1"`` (hex) or ``"1"`` (decimal) -> 1.

    StratoVirt 2.1.0 silently reads anything it cannot parse as slot 0, so the
    collection parses ``addr`` itself and always sends ``0x<hex>``.

    :raises DeviceInputError: not a slot number.
    """
    if addr is None:
        return None
    text = str(addr)
    if not ADDR_PATTERN.fullmatch(text):
        raise DeviceInputError('addr %r of device %s is not a slot number: write it as "0x1" (or "1")' % (addr, device_id))
    return int(text, 16) if text[:2] in ('0x', '0X') else int(text)


def check_no_control_characters(params: Dict[str, Any], names, what: str, names_vm: bool = False) -> None:
    """Refuse a string option holding a control character (a newline above all): StratoVirt would be sent it.

    :raises DeviceInputError: naming the option.
    """
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and CONTROL_CHARACTERS.search(value):
            raise DeviceInputError('%s: option %s is %r, which holds a control character (newline, tab, ...): remove it'
                                   % (what, name, value), names_vm=names_vm)


def spec_from_params(kind: str, params: Dict[str, Any]) -> DeviceSpec:
    """Build and check the declared device from module parameters.

    :raises DeviceInputError: a value of the wrong form, or a missing value that ``state=present`` needs.
    """
    check_no_control_characters(params, STRING_OPTIONS, 'device %r' % params.get('id'))
    device_id = params['id']
    if not ID_PATTERN.fullmatch(device_id or ''):
        raise DeviceInputError('id %r is not usable: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or '
                               'digit (it becomes the StratoVirt device id and backend name)' % device_id)
    spec = DeviceSpec(kind=kind, id=device_id, state=params.get('state') or 'present',
                      slot=parse_addr(params.get('addr'), device_id), bus=params.get('bus'), on_change=params.get('on_change') or 'fail',
                      allow_cold_unplug=bool(params.get('allow_cold_unplug')))
    if kind == KIND_DISK:
        spec = spec._replace(path=params.get('path'), read_only=bool(params.get('read_only')),
                             direct=params.get('direct', True) is not False, aio=params.get('aio'), serial=params.get('serial'))
        _check_disk(spec)
    else:
        spec = spec._replace(ifname=params.get('ifname'), mac=params.get('mac'), create_tap=bool(params.get('create_tap')))
        _check_nic(spec)
    return spec


def _check_disk(spec: DeviceSpec) -> None:
    if spec.state == 'present' and not spec.path:
        raise DeviceInputError('disk %s: path is required with state=present' % spec.id)
    if spec.path and not os.path.isabs(spec.path):
        raise DeviceInputError('disk %s: path %r must be absolute (a relative path would be read from the module\'s '
                               'temporary directory, not from the playbook\'s)' % (spec.id, spec.path))
    if spec.aio is not None and spec.aio not in AIO_CHOICES:
        raise DeviceInputError('disk %s: aio must be one of %s' % (spec.id, ', '.join(AIO_CHOICES)))
    if spec.serial is not None and not SERIAL_PATTERN.fullmatch(spec.serial):
        raise DeviceInputError('disk %s: serial must be 1-20 printable ASCII characters without spaces (virtio-blk keeps 20)'
                               % spec.id)


def _check_nic(spec: DeviceSpec) -> None:
    if spec.state == 'present' and not spec.ifname:
        raise DeviceInputError('NIC %s: ifname (the host tap) is required with state=present' % spec.id)
    if spec.ifname is not None and not IFNAME_PATTERN.fullmatch(spec.ifname):
        raise DeviceInputError('NIC %s: ifname %r is not a valid interface name (at most 15 characters, no "/", ":" or '
                               'spaces)' % (spec.id, spec.ifname))
    if spec.mac is not None and not MAC_PATTERN.fullmatch(spec.mac):
        raise DeviceInputError('NIC %s: mac %r must be six hexadecimal pairs separated by ":", like 52:54:00:12:34:56'
                               % (spec.id, spec.mac))
