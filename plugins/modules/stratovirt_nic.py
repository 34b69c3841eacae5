#!/usr/bin/python
# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: stratovirt_nic
short_description: Hot-plug or unplug a NIC of a running StratoVirt VM through QMP
version_added: 0.1.0
description:
  - Makes one NIC of a running StratoVirt VM match the task, changing only what differs, on micro VMs
    (fixed virtio-mmio slots) and standard VMs (PCIe hot-plug into a C(pcie-root-port)).
  - Plugs with C(netdev_add) (a host tap) then C(device_add) (driver C(virtio-net-mmio) on a micro VM,
    C(virtio-net-pci) on a standard VM). Unplugs with C(device_del), which on a micro VM removes the backend too; on
    a standard VM the module waits for the guest to let the device go (O(wait_timeout)), then removes the backend
    with C(netdev_del).
  - If C(device_add) fails after C(netdev_add) succeeded, the backend is removed again before the task fails.
  - On StratoVirt 2.5.0 a micro VM NIC unplug answers an error although the NIC is gone, and the VM keeps the
    tap open until it exits. The module reports the unplug truthfully, warns, and refuses to plug that tap into
    the VM again.
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
extends_documentation_fragment:
  - stratovirt.qmp.stratovirt
  - stratovirt.qmp.stratovirt.device
  - stratovirt.qmp.stratovirt.nic_list
  - stratovirt.qmp.stratovirt.attributes
options:
  ifname:
    description:
      - Host tap device that backs the NIC. Required with O(state=present).
      - It must exist unless O(create_tap=true). An existing host interface that is not a tap (C(lo), a bridge) is
        refused.
    type: str
  create_tap:
    description:
      - Let StratoVirt create the tap when it does not exist. Such a tap goes away with the VM.
    type: bool
    default: false
  mac:
    description:
      - MAC address the guest sees, six hexadecimal pairs separated by C(:).
      - A micro VM honours it from StratoVirt 2.5.0; on older micro VMs setting it is an error. Standard VMs take it.
      - On a standard VM it is the way to find the NIC in the guest, whose interface name follows the guest's PCI naming.
    type: str
  queues:
    description:
      - Number of queue pairs of the NIC (C(netdev_add) C(queues)), 1-16; above 1 C(device_add) also gets
        C(mq=on) (multi-queue). The tap must then be a multi-queue one (C(ip tuntap add dev NAME mode tap
        multi_queue)), or be created by StratoVirt (O(create_tap=true)); a single-queue tap is refused.
      - Sent as a string to StratoVirt 2.1.0 and as an integer from 2.2.0, as each release parses it.
      - Standard VMs, every release. Refused on a micro VM, which has no multi-queue.
    type: int
  vhost:
    description:
      - Run the NIC's data path in the host kernel (vhost-net, C(netdev_add) C(vhost)). The host must have
        C(/dev/vhost-net) (the C(vhost_net) kernel module), or the task is refused before anything is sent.
      - Sent as the string C(on) before StratoVirt 2.3.0 and as a boolean from 2.3.0, as each release parses it.
        V(false) is StratoVirt's default and is not sent.
      - Standard VMs, every release. Refused on a micro VM, which ignores it (and could not unplug a vhost NIC).
    type: bool
  iothread:
    description:
      - The iothread that runs the NIC's I/O (C(device_add) C(iothread)). It must be on the VM's command line
        (C(-object iothread,id=NAME)), or the task is refused before anything is sent.
      - Micro VMs from StratoVirt 2.5.0. Refused on older micro VMs, which ignore it, and on standard VMs (not
        checked against StratoVirt there).
    type: str
'''

EXAMPLES = r'''
- name: Plug tap0 as the first NIC (eth0) of a micro VM
  stratovirt.qmp.stratovirt_nic:
    socket: /srv/vm/qa/qmp.sock
    id: net-0
    ifname: tap0
    addr: "0x0"

- name: Declare all the NICs of a VM in one call
  stratovirt.qmp.stratovirt_nic:
    socket: /srv/vm/qa/qmp.sock
    nics:
      - id: net-0
        ifname: tap0

- name: Unplug it
  stratovirt.qmp.stratovirt_nic:
    socket: /srv/vm/qa/qmp.sock
    id: net-0
    state: absent
'''

RETURN = r'''
devices:
  description: List form. One entry per device, in the order handled (devices unplugged by O(exclusive) first).
  returned: with the list form
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
      description: The device as it now is, or null when absent; for a device not attempted after a failure, as it was.
      type: dict
commands:
  description:
    - The QMP commands sent, in order (in check mode, those that would be sent). Empty when nothing differed.
  returned: always
  type: list
  elements: dict
  sample:
    - {"execute": "netdev_add", "arguments": {"id": "net-0", "ifname": "tap0"}}
    - {"execute": "device_add", "arguments": {"id": "net-0", "driver": "virtio-net-mmio", "addr": "0x0"}}
device:
  description: The NIC as it now is (as it would be, in check mode), or null when absent.
  returned: with the single-device form
  type: dict
  sample: {"id": "net-0", "kind": "nic", "addr": "0x0", "ifname": "tap0", "source": "record", "guest_name": "eth0"}
  contains:
    guest_name:
      description:
        - The interface name the guest gives the NIC, or null when the host cannot tell. A micro VM, the slot's
          (V(0x0) is C(eth0), V(0x1) C(eth1)), as long as the guest keeps the kernel's names; a standard VM, null (the
          name follows the guest's PCI naming, so find the NIC by O(mac)).
        - See C(docs/user-guide.md) of the collection for the limits of this mapping.
      type: str
    id:
      description: Device id.
      type: str
    kind:
      description: V(nic).
      type: str
    addr:
      description: Slot, or null when a device found attached but missing from the record has an unknown slot.
      type: str
    bus:
      description: The pcie-root-port the device sits on.
      type: str
      returned: on standard VMs
    unplug_pending:
      description: The unplug was requested but the guest has not let the device go yet.
      type: bool
      returned: on standard VMs, while an unplug is pending
    ifname:
      description: Host tap.
      type: str
    source:
      description: V(record), V(cold-plugged) or V(adopted), as for M(stratovirt.qmp.stratovirt_disk).
      type: str
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
  description: What was found of the VM.
  returned: when the VM was reached
  type: dict
  sample: {"release": "2.5.0", "machine": "micro", "pid": 4242}
  contains:
    release:
      description: StratoVirt release, from C(query-version).
      type: str
    machine:
      description: V(micro) or V(standard).
      type: str
    pid:
      description: Process id of the VM.
      type: int
'''

from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.devices import run_device_module


def main():
    run_device_module('nic')


if __name__ == '__main__':
    main()
