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
      - On a standard VM it is also how the guest names the disk stably, C(/dev/disk/by-id/virtio-SERIAL)
        (RV(device.guest_name)); set it on every standard VM disk, to the id for example when the id has at most 20
        characters.
    type: str
  discard:
    description:
      - What the image does with the guest's discard (TRIM) requests (C(blockdev-add) C(discard)). V(unmap) passes them
        to the image, which frees the space on thin storage; V(ignore) drops them (StratoVirt's default).
      - Standard VMs, every release. A micro VM ignores it, so setting it there is an error.
      - Not changeable in place; a different value is a difference handled by O(on_change).
    type: str
    choices: [unmap, ignore]
  format:
    description:
      - Image format (C(blockdev-add) C(driver)). When unset the image is read raw.
      - V(qcow2) needs a standard VM of StratoVirt 2.3.0 or later. StratoVirt 2.1.0 and 2.2.0 have no qcow2 (they
        take C(driver=qcow2) without reading it and open the image raw), so V(qcow2) is refused there before anything
        is sent, and a qcow2 image cannot be plugged at all. A micro VM (every release) ignores the format and always
        reads the image raw, so V(qcow2) is refused there; V(raw) is accepted there and not sent.
      - Before anything is sent the image's header is read. A qcow2 image (it starts with C(QFI\\xfb)) declared
        V(raw) or left unset is refused (plugged raw, the guest would see, and could overwrite, the qcow2 container),
        and so is an image declared V(qcow2) that is not one. A qcow2 image with a backing file is named in a warning
        when it is plugged.
    type: str
    choices: [raw, qcow2]
  detect_zeroes:
    description:
      - Detect writes of zeroes (C(blockdev-add) C(detect-zeroes)); V(unmap) also frees them on thin storage when
        O(discard=unmap).
      - Standard VMs from StratoVirt 2.3.0 (2.1.0 and 2.2.0 have no such setting). Refused on a micro VM, which
        ignores it.
    type: str
    choices: ['on', 'off', unmap]
  iops:
    description:
      - Limit of I/O operations per second, reads and writes together (C(blockdev-add) C(throttling.iops-total)).
      - Standard VMs, every release. Refused on a micro VM, which ignores it. At least 1 (unset means no limit).
    type: int
  iothread:
    description:
      - The iothread that runs the disk's I/O (C(device_add) C(iothread)). It must be on the VM's command line
        (C(-object iothread,id=NAME)), or the task is refused before anything is sent.
      - Standard VMs, every release; micro VMs from StratoVirt 2.5.0 (older micro VMs ignore it, so it is refused there).
    type: str
  num_queues:
    description:
      - Number of virtqueues of the disk (C(device_add) C(num-queues)), 1-32; more queues let several guest CPUs
        submit I/O at once.
      - Standard VMs from StratoVirt 2.2.0 (2.1.0 has no such setting). Refused on a micro VM, which ignores it.
    type: int
  queue_size:
    description:
      - Size of each virtqueue (C(device_add) C(queue-size)), a power of two from 2 to 1024.
      - Standard VMs from StratoVirt 2.2.0 (2.1.0 has no such setting). Refused on a micro VM, which ignores it.
    type: int
  boot_index:
    description:
      - Boot order of the disk (C(device_add) C(boot_index)), 0-255; only read by the firmware at the next boot.
      - Standard VMs from StratoVirt 2.2.0, micro VMs from 2.5.0 (older releases refuse or ignore it, so it is
        refused there).
    type: int
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

- name: Plug a qcow2 image on an iothread with an IOPS limit into a standard VM (StratoVirt 2.3.0 or later)
  stratovirt.qmp.stratovirt_disk:
    socket: /srv/vm/db/qmp.sock
    id: data-1
    path: /srv/vm/data1.qcow2
    format: qcow2
    iothread: io1
    iops: 2000
    discard: unmap
    serial: data-1
  register: plugged
  # plugged.device.guest_name is /dev/disk/by-id/virtio-data-1

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
           "direct": true, "aio": null, "source": "record", "guest_name": "vdb"}
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
    guest_name:
      description:
        - The name the guest knows the disk by, or null when the host cannot tell. A micro VM, the slot's
          (V(0x0) is C(vda), V(0x1) C(vdb) ...); a standard VM, C(/dev/disk/by-id/virtio-SERIAL) when O(serial) is set.
        - See C(docs/user-guide.md) of the collection for the limits of this mapping.
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

from ansible_collections.stratovirt.qmp.plugins.module_utils._runners.devices import run_device_module


def main():
    run_device_module('disk')


if __name__ == '__main__':
    main()
