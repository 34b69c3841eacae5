# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StratoVirt VMs a host runs, read from ``/proc`` without touching any monitor.

Private to the stratovirt.qmp collection: may change in any release.

A process is taken for a StratoVirt VM when its command line, read as the device modules read the command line of
the process behind a socket (``_vm_process.command_line``, every option anywhere in argv, spelt ``-opt`` or
``--opt``), names a Unix QMP monitor the way StratoVirt requires it (``-qmp unix:PATH,server,nowait``, or a
control ``-mon`` on a ``-chardev socket,...,server,nowait``). Its executable's name is not read: a VM may be started
through a wrapper or a renamed binary. Only its monitor can prove it is StratoVirt (``query-version``), which
``_host_vms_info`` asks when the monitor is free.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, List, NamedTuple, Optional

from ._session_options import MACHINE_NAMES
from ._stratovirt_cmdline import machine_type, qmp_sockets, vm_name
from ._vm_process import VMProcessError, command_line


class HostVM(NamedTuple):
    """One VM process as its command line shows it."""

    pid: int
    name: Optional[str]
    sockets: List[str]  # absolute, as this host names them (a relative -qmp path is read from the VM's cwd)
    machine: Optional[str]  # micro, standard, or None when the command line does not tell
    argv: List[str]


def _absolute(pid: int, path: str) -> str:
    if os.path.isabs(path):
        return path
    try:
        return os.path.join(os.readlink('/proc/%d/cwd' % pid), path)
    except OSError:  # not ours to read: keep the path as the VM wrote it
        return path


def host_vm(pid: int, argv: List[str]) -> Optional[HostVM]:
    """:returns: the VM that ``argv`` (the command line of ``pid``) describes, None if it names no QMP monitor."""
    sockets = qmp_sockets(argv)
    if not sockets:
        return None
    written = (machine_type(argv) or '').split(',')[0]
    return HostVM(pid, vm_name(argv), [_absolute(pid, path) for path in sockets], MACHINE_NAMES.get(written), argv)


def running_vms() -> List[HostVM]:
    """Every process of this host whose command line is a StratoVirt VM's, by pid.

    Processes that exit during the scan, kernel threads and zombies are skipped.

    :raises VMProcessError: /proc cannot be listed.
    """
    try:
        pids = sorted(int(name) for name in os.listdir('/proc') if name.isdigit())
    except OSError as exc:
        raise VMProcessError('cannot list /proc: %s' % exc) from exc
    found = []
    own = os.getpid()
    for pid in pids:
        if pid == own:
            continue
        try:
            argv = command_line(pid)
        except VMProcessError:
            continue
        vm = host_vm(pid, argv)
        if vm is not None:
            found.append(vm)
    return found


def socket_key(path: str) -> str:
    """What makes two spellings of a monitor path one monitor: the real path (the per-VM lock is keyed so too)."""
    return os.path.realpath(path)


def compare_declared(declared: Iterable[dict], running: List[HostVM]) -> Dict[str, list]:
    """Declared VMs (``name``, ``socket``) against the running ones.

    :returns: ``not_running``, the names of declared VMs no running VM serves; ``undeclared``, the running VMs none of
        whose monitors is declared (pid, name, sockets).
    """
    by_socket = {socket_key(path): vm for vm in running for path in vm.sockets}
    declared_keys = set()
    not_running = []
    for vm in declared:
        key = socket_key(vm['socket'])
        declared_keys.add(key)
        if key not in by_socket:
            not_running.append(vm['name'])
    undeclared = [
        {'pid': vm.pid, 'name': vm.name, 'sockets': vm.sockets} for vm in running if not any(socket_key(path) in declared_keys for path in vm.sockets)
    ]
    return {'not_running': not_running, 'undeclared': undeclared}
