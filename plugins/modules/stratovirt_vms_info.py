#!/usr/bin/python
# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: stratovirt_vms_info
short_description: List the StratoVirt VMs a host really runs, with their release, machine type and devices
version_added: 0.1.0
description:
  - Lists every StratoVirt VM process of the host - its pid, C(-name), the QMP socket(s) of its command line, its
    release, machine type, status, and the devices known for it (its command line and the record the device modules
    keep, checked against what the host shows of the process, as M(stratovirt.qmp.stratovirt_info) reports them).
  - A process is taken for a StratoVirt VM when its command line names a Unix QMP monitor as StratoVirt requires it,
    C(-qmp unix:PATH,server,nowait) or a C(-mon chardev=ID,mode=control) on a C(-chardev socket,id=ID,path=PATH,server,nowait).
    and it is the process listening on that socket (checked in the kernel's socket table and its open descriptors,
    before anything connects). One socket file is one VM, however many processes name it.
  - Listed in RV(ignored) instead, and never connected to on their behalf - a process naming a monitor another process
    serves (C(reason=impostor)); a process whose monitor greets as something else than StratoVirt, QEMU say
    (C(reason=not StratoVirt)), decided from the greeting before any command is sent.
  - Read-only. Touches no monitor that is busy - a VM whose per-VM lock another run of this collection holds, or whose
    monitor another client holds or waits for, is reported with RV(vms[].status=busy) at once, never waited for. Others
    get C(query-version) and C(query-status) on their first socket, nothing else.
  - With O(vms), also says which declared VMs are not running and which running VMs are not declared.
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
options:
  vms:
    description:
      - The VMs declared for this host, each with at least C(name) (non-empty, unique, no control characters) and
        C(socket); other keys are ignored, so the
        list the role C(stratovirt.qmp.vm_devices) takes (O(stratovirt.qmp.stratovirt_vms#module:vms)) serves as it is.
    type: list
    elements: dict
  read_undeclared:
    description:
      - With O(vms), whether the monitors of running VMs that O(vms) does not declare are read too. V(false) lists them
        from their command line only (no release, status or devices), touching only the declared VMs' monitors.
      - Without O(vms) every VM is read.
    type: bool
    default: true
  timeout:
    description: Seconds allowed for each monitor's greeting and each reply.
    type: float
    default: 10.0
  workers:
    description: How many monitors are read at the same time, from 1 to 64.
    type: int
    default: 4
attributes:
  check_mode:
    description: Sends nothing that changes a VM, in check mode or not.
    support: full
  diff_mode:
    description: Changes nothing, so has no diff.
    support: none
  platform:
    description: Runs on the hypervisor host, which must be Linux.
    support: full
    platforms: posix
notes:
  - Needs the same user as StratoVirt, or root, to read the VMs' processes and connect to their monitors; VMs of other
    users show as errors.
  - Sees the VMs of its own PID and network namespaces.
seealso:
  - module: stratovirt.qmp.stratovirt_info
  - module: stratovirt.qmp.stratovirt_vms
requirements:
  - Python 3.8 or later on the hypervisor host, Linux C(/proc).
'''

EXAMPLES = r'''
- name: Which VMs does the host run, and are they the declared ones?
  stratovirt.qmp.stratovirt_vms_info:
    vms: "{{ vm_devices_vms }}"
  register: host_vms

- name: Say which running VMs nobody declared
  ansible.builtin.debug:
    msg: "{{ host_vms.undeclared | map(attribute='name') | list }}"
'''

RETURN = r'''
vms:
  description: Every StratoVirt VM process of the host, by pid.
  returned: success
  type: list
  elements: dict
  contains:
    pid:
      description: The VM's process id.
      type: int
    name:
      description: The value of its C(-name), null without one.
      type: str
    sockets:
      description: The Unix sockets of its QMP monitors, from its command line (a relative one made absolute from the VM's working directory).
      type: list
      elements: str
    socket:
      description: The socket read, the first of RV(vms[].sockets).
      type: str
    status:
      description:
        - The VM's C(query-status) status (V(running), V(paused) ...), or V(busy) (its monitor was not touched) or
          V(error) (see RV(vms[].msg)); null when it was not read (O(read_undeclared)).
      type: str
    release:
      description: Its StratoVirt release; null when busy or not read.
      type: str
    machine:
      description: V(micro) or V(standard); from the command line when the monitor was not read, null if it does not tell.
      type: str
    devices:
      description: The devices known for it, as RV(stratovirt.qmp.stratovirt_info#module:devices); null when busy or not read.
      type: list
      elements: dict
    free:
      description: As RV(stratovirt.qmp.stratovirt_info#module:free); null when busy or not read.
      type: dict
    resources:
      description: As RV(stratovirt.qmp.stratovirt_info#module:resources); null when busy or not read.
      type: dict
    mismatches:
      description: As RV(stratovirt.qmp.stratovirt_info#module:mismatches); null when busy or not read.
      type: list
      elements: str
    held_by:
      description:
        - A busy VM, the processes holding its monitor (C(pid), C(name)), such as the manager that started it (iSulad,
          kata, libvirt); empty otherwise or when none could be named. A second monitor would not make sharing safe -
          StratoVirt sends every event to the client that connected last and drops events once it leaves.
      type: list
      elements: dict
    msg:
      description: Why the VM is busy, could not be read, or was not read; empty otherwise.
      type: str
summary:
  description:
    - One line per VM of RV(vms), the columns padded so that the lines read as a table - its name, pid, release,
      machine, status, its disks and NICs (C(id=guest name@slot or bus), the guest name where the host can tell it),
      its free slots (micro VM) or root ports (standard VM), its resources (C(vcpus present/possible memory balloon
      iothreads cold-plugged)), with O(vms) whether it is declared, and RV(vms[].msg).
      A C(-) stands for what is not known (busy, not read). The playbook C(stratovirt.qmp.status) prints it.
  returned: success
  type: list
  elements: str
  sample:
    - "web1  pid 4242  2.1.0  micro     running  disks data0=vdb@0x1  nics net0=eth0@0x0  free slots disk 0x0,0x2,0x3,0x4,0x5 nic 0x1  declared"
    - "db1   pid 4243  2.5.0  standard  running  disks pgdata@pcie.1   nics -              free root ports pcie.2                         declared"
ignored:
  description:
    - Processes whose command line names a QMP monitor but that are not StratoVirt VMs - C(pid), C(name) (its C(-name)),
      C(sockets), C(reason) and C(msg) (why).
    - C(reason) is C(impostor) - another process serves the socket it names (its pid is in C(msg)); or C(not StratoVirt) - its
      monitor's greeting or C(query-version) is not StratoVirt's.
  returned: success
  type: list
  elements: dict
not_running:
  description: The names of the declared VMs (O(vms)) whose socket no running StratoVirt VM names.
  returned: when O(vms) is given
  type: list
  elements: str
declared:
  description:
    - One entry per declared VM (O(vms)), in order - its C(name) and C(socket), C(running) (whether a running StratoVirt
      VM names that socket), and for a running one its C(pid), C(status), C(release), C(machine), C(mismatches) and C(msg)
      as in RV(vms).
  returned: when O(vms) is given
  type: list
  elements: dict
undeclared:
  description: The running StratoVirt VMs (C(pid), C(name), C(sockets)) none of whose sockets is declared in O(vms).
  returned: when O(vms) is given
  type: list
  elements: dict
'''

from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.vms_info import run_vms_info_module


def main():
    run_vms_info_module()


if __name__ == '__main__':
    main()
