# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``stratovirt_vms_info`` reports of each StratoVirt VM the host runs: read-only, never waiting on a monitor.

Private to the stratovirt.qmp collection: may change in any release.

A VM whose per-VM lock another run of this collection holds, or whose monitor another client holds or waits for,
is reported ``busy`` at once: taking the lock is tried once, never waited for, and a monitor in use is never
connected to (a queued client that gives up kills StratoVirt). Otherwise only what ``stratovirt_info`` sends is sent
(``query-version``, ``query-status`` and the read-only queries of ``_report.resources``), and its devices are
gathered as that module gathers them.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from .._collection_error import CollectionError
from .._converge.thread_pool import run_bounded
from .._host.vms import HostVM, compare_declared, host_processes, socket_key
from .resources import read_resources
from .vm_info import report
from .._qmp.client import qmp_session
from .._qmp.errors import QMPBusyError, QMPLockTimeout
from .._converge.session_options import failure_message, resolve_machine
from .._dialect.dialect import NotStratoVirtError, check_greeting, detect
from .._host.process import peer_pid
from .._device.state import gather

STATUS_BUSY = 'busy'
STATUS_ERROR = 'error'
NOT_STRATOVIRT = 'not StratoVirt'
# Why a process is in ``ignored``: its monitor's greeting is not StratoVirt's, or it names a monitor it does not serve.
IMPOSTOR = 'impostor'


def _read(vm: HostVM, timeout: float) -> Dict[str, Any]:
    """One VM's entry: what its command line says, then what its first free monitor says."""
    entry = unread(vm, '')
    socket_path = vm.sockets[0]
    try:
        # lock_timeout 0: the lock is tried once; a session of ours holding it means busy, not a wait.
        with qmp_session(socket_path, timeout, 0.0) as client:
            served_by = peer_pid(client.connection)
            if served_by != vm.pid:
                entry.update(status=STATUS_ERROR, msg='its socket %s is served by process %d, not by this VM' % (socket_path, served_by))
                return entry
            check_greeting(client.greeting)  # a QEMU is told by its greeting, before its command line is read
            argv = vm.argv  # read by the scan; the peer check above shows the same process serves the socket
            dialect = detect(client, resolve_machine('auto', argv, True, 'this module sends nothing that could change the VM'))
            status = client.execute('query-status')
            state = gather(socket_path, dialect, vm.pid, argv)
            resources = read_resources(client, dialect, argv)
    except NotStratoVirtError as exc:
        entry.update(status=NOT_STRATOVIRT, msg=exc.message)
        return entry
    except (QMPLockTimeout, QMPBusyError) as exc:
        entry.update(status=STATUS_BUSY, msg=failure_message(exc, socket_path))
        entry['held_by'] = [{'pid': pid, 'name': name} for pid, name in getattr(exc, 'holders', [])]
        return entry
    except CollectionError as exc:
        entry.update(status=STATUS_ERROR, msg=failure_message(exc, socket_path))
        return entry
    shown = report(state, argv, status, resources)
    entry.update(
        release=dialect.release_text,
        machine=dialect.machine,
        status=status.get('status') if isinstance(status, dict) else None,
        devices=shown['devices'],
        free=shown['free'],
        resources=shown['resources'],
        mismatches=shown['mismatches'],
    )
    return entry


def unread(vm: HostVM, why: str) -> Dict[str, Any]:
    """The entry of a VM whose monitor is not read: what its command line says."""
    return {
        'pid': vm.pid,
        'name': vm.name,
        'sockets': vm.sockets,
        'socket': vm.sockets[0],
        'machine': vm.machine,
        'release': None,
        'status': None,
        'devices': None,
        'free': None,
        'resources': None,
        'mismatches': None,
        'held_by': [],
        'msg': why,
    }


def host_vms_report(timeout: float, workers: int, declared: Optional[List[dict]] = None, read_undeclared: bool = True) -> Dict[str, Any]:
    """Every StratoVirt VM of this host (``vms``), the processes found not to be StratoVirt (``ignored``), and, for
    ``declared`` VMs (``name``, ``socket``), which are running (``declared``), those not running and the running ones
    not declared. With ``read_undeclared`` false, the monitors of VMs not declared are not read.

    :raises VMProcessError: /proc cannot be listed.
    """
    running, impostors = host_processes()
    declared_keys = {socket_key(vm['socket']) for vm in declared or []}

    def read(vm: HostVM) -> Dict[str, Any]:
        if declared is not None and not read_undeclared and not any(socket_key(path) in declared_keys for path in vm.sockets):
            return unread(vm, 'not read: not declared')
        return _read(vm, timeout)

    entries = run_bounded(read, running, workers)
    vms = [entry for entry in entries if entry['status'] != NOT_STRATOVIRT]
    result: Dict[str, Any] = {
        'vms': vms,
        'ignored': [_ignored(entry, NOT_STRATOVIRT) for entry in entries if entry['status'] == NOT_STRATOVIRT]
        + [_ignored(unread(impostor.vm, impostor.msg), IMPOSTOR) for impostor in impostors],
    }
    if declared is not None:
        stratovirt = [vm for vm, entry in zip(running, entries) if entry['status'] != NOT_STRATOVIRT]
        result.update(compare_declared(declared, stratovirt))
        by_socket = {socket_key(path): entry for entry in vms for path in entry['sockets']}
        result['declared'] = [_declared_entry(vm, by_socket.get(socket_key(vm['socket']))) for vm in declared]
    return result


def _ignored(entry: Dict[str, Any], reason: str) -> Dict[str, Any]:
    return {'pid': entry['pid'], 'name': entry['name'], 'sockets': entry['sockets'], 'reason': reason, 'msg': entry['msg']}


def _declared_entry(vm: dict, entry: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """A declared VM and what the listing found at its socket (``running`` false: nothing)."""
    found = {key: entry[key] for key in ('pid', 'status', 'release', 'machine', 'mismatches', 'msg')} if entry else {}
    return dict({'name': vm['name'], 'socket': vm['socket'], 'running': entry is not None}, **found)
