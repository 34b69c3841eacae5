#!/usr/bin/python
# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: stratovirt_vms
short_description: Converge the disks and NICs of every declared StratoVirt VM of a host in one call
version_added: 0.1.0
description:
  - M(stratovirt.qmp.stratovirt_devices) for many VMs of one host in one module call. On a fleet the cost of a run is
    almost all per module call, so one call per host instead of one per VM is what makes the nightly "is everything
    as declared?" run cheap (see C(docs/benchmarks.md)). The role C(stratovirt.qmp.vm_devices) uses it.
  - Each VM is converged exactly as one M(stratovirt.qmp.stratovirt_devices) task converges it, in its own QMP
    session under its own per-VM lock, with the same checks, rollbacks and device record. Up to O(workers) VMs are
    converged at the same time.
  - Every VM's declaration is checked before anything is sent to any VM; a wrong one (an unknown option, a value of
    the wrong type or form, an empty name or one with a control character, two VMs with one name or one socket - a
    symlink or a hard link of another's counts as the same) refuses the whole task, naming each VM at fault.
  - Otherwise one VM's failure does not stop the others. Every VM is attempted, the result has one entry per VM in
    RV(vms), and the task fails at the end if any VM failed, naming each failed VM and why.
  - A module of its own rather than a list option of M(stratovirt.qmp.stratovirt_devices), whose O(stratovirt.qmp.stratovirt_devices#module:socket)
    is required and may come from the environment or from C(module_defaults); for the same reason it is not in the
    action group C(group/stratovirt.qmp.stratovirt), whose defaults name one VM.
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
options:
  vms:
    description:
      - The VMs of this host and the devices each must have.
      - Each item takes C(name), the VM's name (used in the result, the diff and the messages; non-empty, unique, no
        control characters), and the
        options of M(stratovirt.qmp.stratovirt_devices) with the same types, choices and defaults -
        C(socket) (required, never read from the environment), C(timeout), C(machine), C(wait_timeout), C(exclusive),
        C(disks) and C(nics). See that module for what each means.
    type: list
    elements: dict
    required: true
  workers:
    description:
      - How many VMs are converged at the same time, from 1 to 64.
      - The work of a VM is mostly waiting for its monitor's replies, so a few workers overlap it well; each VM still
        has one session at a time, under its lock.
      - The default was chosen by measurement (the collection's C(docs/benchmarks.md)) - on a 2-core host with 500 micro
        VMs, 4 workers converge about 3.8 times faster than 1, and 16 or 64 are slower than 4 (they compete for the
        same cores).
    type: int
    default: 4
attributes:
  check_mode:
    description: Can run in check mode and return, per VM, the QMP commands that would be sent, without sending any.
    support: full
  diff_mode:
    description: Returns each VM's devices before and after in C(diff) mode, keyed by the VM's name.
    support: full
  platform:
    description: Runs on the hypervisor host, which must be Linux.
    support: full
    platforms: posix
notes:
  - Needs the same user as StratoVirt, or root, on the hypervisor host.
  - Also reports, from the host's process table and without touching any monitor, the declared VMs that no running
    StratoVirt process serves and the running StratoVirt VMs that are not declared (RV(host)).
seealso:
  - module: stratovirt.qmp.stratovirt_devices
  - module: stratovirt.qmp.stratovirt_vms_info
requirements:
  - Python 3.8 or later on the hypervisor host, Linux C(/proc).
'''

EXAMPLES = r'''
- name: Converge every VM of the host
  stratovirt.qmp.stratovirt_vms:
    vms:
      - name: web1
        socket: /srv/vm/web1/qmp.sock
        exclusive: true
        disks:
          - {id: data0, path: /srv/vm/web1/data0.img, addr: "0x1"}
        nics:
          - {id: net0, ifname: tap-web1}
      - name: db1
        socket: /srv/vm/db1/qmp.sock
        machine: standard
        disks:
          - {id: pgdata, path: /srv/vm/db1/pgdata.img, bus: pcie.1}
  register: converged
'''

RETURN = r'''
vms:
  description: One entry per declared VM, in the order declared.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The VM's name.
      type: str
    socket:
      description: The VM's QMP socket.
      type: str
    attempted:
      description: Whether the VM was contacted (false for every VM when a declaration was refused).
      type: bool
    changed:
      description: Whether the VM was changed (would be, in check mode).
      type: bool
    failed:
      description: Whether the VM failed.
      type: bool
    msg:
      description: Why the VM failed, naming its socket; empty when it did not.
      type: str
    commands:
      description: The QMP commands sent to the VM, in order (in check mode, those that would be sent).
      type: list
      elements: dict
    devices:
      description: One entry per device, as RV(stratovirt.qmp.stratovirt_devices#module:devices).
      type: list
      elements: dict
    when:
      description: Check mode, as RV(stratovirt.qmp.stratovirt_devices#module:when).
      type: list
      elements: str
    stratovirt:
      description: Release, machine type and process id of the VM; null when it was not reached.
      type: dict
failed_vms:
  description: The names of the VMs that failed.
  returned: always
  type: list
  elements: str
host:
  description:
    - From the host's process table at the start of the run (no monitor is contacted for it), C(not_running), the names
      of declared VMs whose socket no running StratoVirt process names, and C(undeclared), the running StratoVirt VMs
      (C(pid), C(name), C(sockets)) none of whose QMP sockets is declared. Informational only.
  returned: when the process table could be read
  type: dict
  sample: {"not_running": ["db2"], "undeclared": [{"pid": 4242, "name": "scratch", "sockets": ["/srv/vm/scratch/qmp.sock"]}]}
summary:
  description:
    - One line per declared VM, in the order declared, the columns padded so that the lines read as a table - its
      name, its outcome (V(ok), V(changed), V(would change) in check mode, V(FAILED), V(not attempted)), pid, release,
      machine, the ids plugged and unplugged, in check mode the QMP commands that would be sent (C(would send ...)),
      and RV(vms[].msg). The role C(stratovirt.qmp.vm_devices) prints it.
  returned: always
  type: list
  elements: str
  sample:
    - "web1  changed  pid 4242  2.1.0  micro     plug data0,net0  unplug -"
    - "db1   ok       pid 4243  2.5.0  standard  plug -           unplug -"
'''

from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.vms import run_vms_module


def main():
    run_vms_module()


if __name__ == '__main__':
    main()
