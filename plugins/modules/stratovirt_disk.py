#!/usr/bin/python
# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: stratovirt_disk
short_description: Hot-plug or unplug a disk of a running StratoVirt VM through QMP
version_added: 0.1.0
description:
  - Makes one disk of a running StratoVirt VM match the task, changing only what differs, on micro VMs
    (fixed virtio-mmio slots) and standard VMs (PCIe hot-plug into a C(pcie-root-port)).
  - Plugs with C(blockdev-add) then C(device_add) (driver C(virtio-blk-mmio) on a micro VM, C(virtio-blk-pci) on
    a standard VM). Unplugs with C(device_del), which on a micro VM removes the backend too; on a standard VM the
    module waits for the guest to let the device go (O(wait_timeout)), then removes the backend with C(blockdev-del).
  - If C(device_add) fails after C(blockdev-add) succeeded, the backend is removed again before the task fails
    (C(device_del) on a micro VM, C(blockdev-del) on a standard VM), so a re-run converges.
  - Refuses, before sending anything, what is known to harm the VM or its data, for example an id already used by
    a NIC, an image attached twice or held read-write by another process, the VM's own rootfs.
author:
  - stratovirt.qmp contributors (@stratovirt-qmp)
extends_documentation_fragment:
  - stratovirt.qmp.stratovirt
  - stratovirt.qmp.stratovirt.device
  - stratovirt.qmp.stratovirt.disk_list
  - stratovirt.qmp.stratovirt.attributes
options:
  path:
    description:
      - Image file or block device to attach. Required with O(state=present).
      - An absolute path.
      - It must not be the VM's boot or rootfs image, nor be attached to this or another VM already. Files are compared
        by identity (device and inode, or device number), so a hard link or symlink to such an image is refused too.
    type: path
  read_only:
    description: Attach the image read-only.
    type: bool
    default: false
  direct:
    description:
      - Open the image with O_DIRECT (C(cache.direct)). tmpfs does not support it.
    type: bool
    default: true
  aio:
    description:
      - Asynchronous I/O engine (C(file.aio)).
      - When omitted, chosen to suit the StratoVirt release. Before 2.3.0 there is no such setting, and none is
        sent. From 2.3.0 StratoVirt refuses direct I/O without one, and V(native) is sent when O(direct=true).
      - Setting it on a release before 2.3.0 is an error. Quote V('off') in YAML, which otherwise reads it as false.
    type: str
    choices: ['off', native, threads, iouring]
  serial:
    description:
      - Serial number the guest sees (at most 20 characters), the reliable way to find the disk in the guest.
      - A micro VM honours it from StratoVirt 2.5.0; on older micro VMs setting it is an error. Standard VMs take it.
    type: str
  discard:
    description:
      - What the image does with the guest's discard (TRIM) requests (C(blockdev-add) C(discard)). V(unmap) passes them
        to the image, which frees the space on thin storage; V(ignore) drops them (StratoVirt's default).
      - Standard VMs, every release. A micro VM ignores it, so setting it there is an error.
      - Not changeable in place; a different value is a difference handled by O(on_change).
    type: str
    choices: [unmap, ignore]
'''

EXAMPLES = r'''
- name: Plug an image as the second disk (vdb) of a micro VM
  stratovirt.qmp.stratovirt_disk:
    socket: /srv/vm/qa/qmp.sock
    id: drive-0
    path: /srv/vm/disk0.img
    addr: "0x1"

- name: Set the socket once for several devices
  module_defaults:
    group/stratovirt.qmp.stratovirt:
      socket: /srv/vm/qa/qmp.sock
  block:
    - name: Plug a read-only data disk in the lowest free slot
      stratovirt.qmp.stratovirt_disk:
        id: data-ro
        path: /srv/vm/data.img
        read_only: true

    - name: Unplug it again
      stratovirt.qmp.stratovirt_disk:
        id: data-ro
        state: absent

- name: Declare all the disks of a VM in one call, unplugging those no longer declared
  stratovirt.qmp.stratovirt_disk:
    socket: /srv/vm/qa/qmp.sock
    exclusive: true
    disks:
      - id: drive-0
        path: /srv/vm/disk0.img
      - id: data-ro
        path: /srv/vm/data.img
        read_only: true

- name: Move a disk to another image, unplugging and plugging it again (disruptive)
  stratovirt.qmp.stratovirt_disk:
    socket: /srv/vm/qa/qmp.sock
    id: drive-0
    path: /srv/vm/disk1.img
    on_change: replace
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
    - {"execute": "blockdev-add", "arguments": {"node-name": "drive-0", "file": {"driver": "file", "filename": "/srv/vm/disk0.img"},
       "cache": {"direct": true}, "read-only": false}}
    - {"execute": "device_add", "arguments": {"id": "drive-0", "driver": "virtio-blk-mmio", "addr": "0x1"}}
device:
  description: The disk as it now is (as it would be, in check mode), or null when absent.
  returned: with the single-device form
  type: dict
  sample: {"id": "drive-0", "kind": "disk", "addr": "0x1", "path": "/srv/vm/disk0.img", "read_only": false,
           "direct": true, "aio": null, "source": "record"}
  contains:
    id:
      description: Device id.
      type: str
    kind:
      description: V(disk).
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
    path:
      description: Real path of the image.
      type: str
    source:
      description: >-
        Where the knowledge comes from, V(record) (plugged by this collection), V(cold-plugged) (the VM's
        command line) or V(adopted) (found attached to the VM but missing from the record).
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
  sample: {"release": "2.1.0", "machine": "micro", "pid": 4242}
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

from ansible_collections.stratovirt.qmp.plugins.module_utils._runner import run_device_module


def main():
    run_device_module('disk')


if __name__ == '__main__':
    main()
