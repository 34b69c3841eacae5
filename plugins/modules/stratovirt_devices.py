#!/usr/bin/python
# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: stratovirt_devices
short_description: Converge all the disks and NICs of a running StratoVirt VM in one call
version_added: 0.1.0
description:
  - The list forms of M(stratovirt.qmp.stratovirt_disk) and M(stratovirt.qmp.stratovirt_nic) together - every
    declared disk and NIC of one VM in one module call, in one QMP session under one lock.
  - On a fleet the cost of a run is almost all per module call, so one call per VM is the fastest way to check or
    converge it (see C(docs/benchmarks.md)); the role C(stratovirt.qmp.vm_devices) uses it.
  - Same behaviour and guarantees as those modules. Every item is checked before anything is sent; disks and NICs
    share one id space; with O(exclusive), devices of both kinds that this collection plugged earlier and that are no
    longer declared are unplugged first (never cold-plugged ones).
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
extends_documentation_fragment:
  - stratovirt.qmp.stratovirt
  - stratovirt.qmp.stratovirt.disk_list
  - stratovirt.qmp.stratovirt.nic_list
  - stratovirt.qmp.stratovirt.attributes
options:
  wait_timeout:
    description: See O(stratovirt.qmp.stratovirt_disk#module:wait_timeout).
    type: float
    default: 30.0
  exclusive:
    description:
      - Also unplug the disks and NICs this collection plugged into the VM earlier and that O(disks) and O(nics) no
        longer declare. Cold-plugged devices are never touched.
    type: bool
    default: false
  vcpus:
    description:
      - The vCPUs the VM must have. A check, never a change - equal to the present count passes; more is refused
        before anything is sent, with the reason, since no StratoVirt release hot-plugs a vCPU safely (it is missing
        on 2.1.0-2.3.0 and on every micro VM, and hangs a 2.4.0 or 2.5.0 standard VM for good); fewer is refused
        (StratoVirt cannot remove a vCPU). See C(docs/resources.md).
    type: int
  balloon:
    description:
      - The guest memory the balloon leaves the VM, in bytes or with a unit (C(512M), C(1G)), at most the VM's memory
        (its C(-m)). Converged with C(balloon) and checked through C(query-balloon), so a re-run changes nothing;
        StratoVirt asks the guest for whole 4 KiB pages, so the size reached is the target rounded up to a page.
      - Refused, with nothing else sent, when the VM has no balloon device (start it with
        C(-device virtio-balloon-device,id=balloon0) or C(virtio-balloon-pci)), or when its guest has not activated
        the balloon driver (StratoVirt answers C(DeviceNotActive) and nothing changes).
      - The module waits O(wait_timeout) for the guest to reach the target, and warns if it has not.
    type: str
'''

EXAMPLES = r'''
- name: Declare every disk and NIC of a VM
  stratovirt.qmp.stratovirt_devices:
    socket: /srv/vm/qa/qmp.sock
    exclusive: true
    disks:
      - id: drive-0
        path: /srv/vm/disk0.img
    nics:
      - id: net-0
        ifname: tap0
'''

RETURN = r'''
resources:
  description: With O(vcpus) or O(balloon), C(before) and C(after) - the present C(vcpus) and the balloon's C(balloon) size in bytes.
  returned: when O(vcpus) or O(balloon) is set
  type: dict
  sample: {"before": {"balloon": 268435456}, "after": {"balloon": 134217728}}
commands:
  description: The QMP commands sent, in order (in check mode, those that would be sent).
  returned: always
  type: list
  elements: dict
devices:
  description: One entry per device, in the order handled (unplugs of O(exclusive) first, then disks, then NICs).
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Device id.
      type: str
    changed:
      description: Whether this device was changed (would be, in check mode).
      type: bool
    commands:
      description: The QMP commands sent for this device (that would be sent, in check mode).
      type: list
      elements: dict
    device:
      description: >-
        The device as it now is, or null when absent (fields as the C(device) of M(stratovirt.qmp.stratovirt_disk)
        and M(stratovirt.qmp.stratovirt_nic)); for a device not attempted after a failure, as it was.
      type: dict
when:
  description:
    - Check mode. One entry per item of RV(commands), in order, null for a command that is always sent, else the
      condition under which the real run sends it (a StratoVirt 2.5.0 micro VM NIC unplug sends a second
      C(device_del) when the first answers its unplug defect).
    - A real run sends a subsequence of the check mode RV(commands); only a failing step's rollback
      (C(device_del), C(blockdev-del), C(netdev_del)) and a retry on the next free slot or root port of a device
      whose place was not given can add commands.
  returned: in check mode
  type: list
  elements: str
stratovirt:
  description: Release, machine type and process id of the VM.
  returned: when the VM was reached
  type: dict
  sample: {"release": "2.5.0", "machine": "micro", "pid": 4242}
'''

from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.devices import run_devices_module


def main():
    run_devices_module()


if __name__ == '__main__':
    main()
