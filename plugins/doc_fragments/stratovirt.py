# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options and attributes shared by the stratovirt.qmp device modules."""

    DOCUMENTATION = r'''
options:
  socket:
    description:
      - Path of the VM's QMP Unix socket, as given to StratoVirt with C(-qmp unix:PATH,server,nowait).
      - The collection keeps two files next to it, C(PATH.lock) (serialises runs) and C(PATH.devices.json)
        (the record of the devices it plugged), so the directory must be writable.
      - An absolute path. It must be a Unix socket; nothing is created next to anything else.
      - A C(PATH.lock) that is a symlink, a hard link, not a regular file or owned by another user is refused (keep
        the socket in a directory only StratoVirt's user can write).
      - If not set, the environment variable E(STRATOVIRT_QMP_SOCKET) is used.
      - Set it once for a play with C(module_defaults) and the group C(group/stratovirt.qmp.stratovirt).
      - Required - set in the task, by C(module_defaults) or by E(STRATOVIRT_QMP_SOCKET).
    type: path
  timeout:
    description:
      - Seconds allowed for the QMP greeting and for each reply.
      - The per-VM lock that another run against the same VM holds is awaited longer, O(wait_timeout) plus five
        times this (80 s with the defaults), since a run unplugging from a standard VM holds it while the guest lets go.
      - StratoVirt serves one client at a time. A monitor already in use is refused at once, without connecting.
      - Above 0 and at most 86400.
    type: float
    default: 10.0
  machine:
    description:
      - The VM's machine type. V(auto) reads it from the VM's command line (C(-machine microvm)), and
        otherwise asks StratoVirt with a C(blockdev-del) of a node that does not exist, which changes nothing.
      - In check mode no such probe is sent; set V(micro) or V(standard) when the command line does not tell.
      - V(micro) or V(standard) that contradicts the VM's command line is refused before anything is sent.
    type: str
    choices: [auto, micro, standard]
    default: auto
notes:
  - Runs against one VM are serialised by a lock; runs against different VMs are independent.
  - Needs the same user as StratoVirt, or root, on the hypervisor host.
  - StratoVirt cannot report its hot-plugged devices (C(query-block) and the like answer C([])). The collection keeps a
    record of what it plugged, bound to the VM process (a restarted VM voids it), and checks it against what the
    host shows of the VM process (open images, held taps, its command line). See C(docs/device-state.md) in the collection.
requirements:
  - Python 3.8 or later on the hypervisor host, Linux C(/proc).
'''

    DEVICE = r'''
options:
  id:
    description:
      - Device id. It is also the name of the backend (C(node-name) of C(blockdev-add), C(id) of C(netdev_add)),
        as StratoVirt requires on a micro VM.
      - Disks and NICs of one VM share one id space.
      - 1-64 letters, digits, C(.), C(_) or C(-), starting with a letter or digit.
      - No string option of the device may hold a control character (a newline, a tab).
      - Required for the single-device form; not used with the list form (each item has its own).
    type: str
  state:
    description:
      - V(present) plugs the device if it is not there; V(absent) unplugs it with C(device_del) if it is.
    type: str
    choices: [present, absent]
    default: present
  addr:
    description:
      - Micro VM. Slot of the device, written V("0x1") (or V("1")). Disks have slots V(0x0)-V(0x3) and NICs
        V(0x0)-V(0x1); V(0x0) is the guest's first device of that kind (C(vda), C(eth0)).
      - When omitted with O(state=present), the lowest free slot is used for a new device, and the slot of a
        present device is not compared.
      - Standard VM. Only V("0x0") is accepted (StratoVirt hot-plugs at address 0 of a root port only); leave it unset.
    type: str
  bus:
    description:
      - Standard VM. The C(pcie-root-port) to plug into, by its id on the VM's command line
        (C(-device pcie-root-port,id=pcie.1,...)). The root bus C(pcie.0) cannot take hot-plugged devices.
      - When omitted with O(state=present), the first root port no known device uses is taken, and the bus of a
        present device is not compared.
      - Not used on micro VMs, which have fixed slots (see O(addr)).
    type: str
  wait_timeout:
    description:
      - Standard VM. Seconds to wait, after C(device_del), for the guest to let the device go (the C(DEVICE_DELETED)
        event). Only then is the backend removed (C(blockdev-del) / C(netdev_del)).
      - A Linux guest takes about 5 s (its pciehp driver blinks the slot's power indicator first). A guest without
        PCIe hot-plug support, or one still booting, never lets go.
      - On timeout the task fails, saying the unplug is pending in the guest; the device is recorded as
        C(unplug_pending) and a later run finishes the unplug instead of requesting it again.
      - A micro VM unplug needs no guest and does not wait.
      - From 0 to 86400.
    type: float
    default: 30.0
  exclusive:
    description:
      - List form only. Also unplug the devices of this kind that this collection plugged into the VM earlier and
        that the list no longer declares. Cold-plugged devices are never touched.
      - They are unplugged first, so their slots or root ports are free for the declared devices.
    type: bool
    default: false
  on_change:
    description:
      - What to do when the device is present but differs from the task (another image, slot, tap, options).
        A hot-plugged device cannot be changed in place.
      - V(fail) fails before sending anything and lists the differences.
      - V(replace) unplugs the device and plugs it again as declared. B(This is disruptive to the guest),
        which loses the device for a moment; unmount or down it first.
    type: str
    choices: [fail, replace]
    default: fail
  allow_cold_unplug:
    description:
      - Devices cold-plugged on the VM's command line (the rootfs above all) are never unplugged or replaced
        unless this is V(true).
    type: bool
    default: false
'''

    DISK_LIST = r'''
options:
  disks:
    description:
      - List form. Several disks of the VM in one call, in one QMP session under one lock; much faster than a task
        per disk on a fleet (see C(docs/benchmarks.md)).
      - Each item takes the options of the single-device form of M(stratovirt.qmp.stratovirt_disk) (C(id) required);
        in that module the list form is mutually exclusive with them.
      - Every item is checked (its form, the host, its plan) before anything is sent; if one is refused, nothing is
        sent at all. Items are applied in order; if one fails, its own half plug is rolled back, the items before it
        stay applied and those after it are not attempted. The result says which.
    type: list
    elements: dict
    suboptions:
      id:
        description: Device id, see O(stratovirt.qmp.stratovirt_disk#module:id).
        type: str
        required: true
      state:
        description: See O(stratovirt.qmp.stratovirt_disk#module:state).
        type: str
        choices: [present, absent]
        default: present
      path:
        description: See O(stratovirt.qmp.stratovirt_disk#module:path).
        type: path
      addr:
        description: See O(stratovirt.qmp.stratovirt_disk#module:addr).
        type: str
      bus:
        description: See O(stratovirt.qmp.stratovirt_disk#module:bus).
        type: str
      read_only:
        description: See O(stratovirt.qmp.stratovirt_disk#module:read_only).
        type: bool
        default: false
      direct:
        description: See O(stratovirt.qmp.stratovirt_disk#module:direct).
        type: bool
        default: true
      aio:
        description: See O(stratovirt.qmp.stratovirt_disk#module:aio).
        type: str
        choices: ['off', native, threads, iouring]
      serial:
        description: See O(stratovirt.qmp.stratovirt_disk#module:serial).
        type: str
      discard:
        description: See O(stratovirt.qmp.stratovirt_disk#module:discard).
        type: str
        choices: [unmap, ignore]
      format:
        description: See O(stratovirt.qmp.stratovirt_disk#module:format).
        type: str
        choices: [raw, qcow2]
      detect_zeroes:
        description: See O(stratovirt.qmp.stratovirt_disk#module:detect_zeroes).
        type: str
        choices: ['on', 'off', unmap]
      iops:
        description: See O(stratovirt.qmp.stratovirt_disk#module:iops).
        type: int
      iothread:
        description: See O(stratovirt.qmp.stratovirt_disk#module:iothread).
        type: str
      num_queues:
        description: See O(stratovirt.qmp.stratovirt_disk#module:num_queues).
        type: int
      queue_size:
        description: See O(stratovirt.qmp.stratovirt_disk#module:queue_size).
        type: int
      boot_index:
        description: See O(stratovirt.qmp.stratovirt_disk#module:boot_index).
        type: int
      on_change:
        description: See O(stratovirt.qmp.stratovirt_disk#module:on_change).
        type: str
        choices: [fail, replace]
        default: fail
      allow_cold_unplug:
        description: See O(stratovirt.qmp.stratovirt_disk#module:allow_cold_unplug).
        type: bool
        default: false
'''

    NIC_LIST = r'''
options:
  nics:
    description:
      - List form. Several NICs of the VM in one call, in one QMP session under one lock; much faster than a task
        per NIC on a fleet (see C(docs/benchmarks.md)).
      - Each item takes the options of the single-device form of M(stratovirt.qmp.stratovirt_nic) (C(id) required);
        in that module the list form is mutually exclusive with them.
      - Every item is checked before anything is sent; if one is refused, nothing is sent at all. Items are applied
        in order; if one fails, its own half plug is rolled back, the items before it stay applied and those after
        it are not attempted. The result says which.
    type: list
    elements: dict
    suboptions:
      id:
        description: Device id, see O(stratovirt.qmp.stratovirt_nic#module:id).
        type: str
        required: true
      state:
        description: See O(stratovirt.qmp.stratovirt_nic#module:state).
        type: str
        choices: [present, absent]
        default: present
      ifname:
        description: See O(stratovirt.qmp.stratovirt_nic#module:ifname).
        type: str
      create_tap:
        description: See O(stratovirt.qmp.stratovirt_nic#module:create_tap).
        type: bool
        default: false
      mac:
        description: See O(stratovirt.qmp.stratovirt_nic#module:mac).
        type: str
      queues:
        description: See O(stratovirt.qmp.stratovirt_nic#module:queues).
        type: int
      vhost:
        description: See O(stratovirt.qmp.stratovirt_nic#module:vhost).
        type: bool
      iothread:
        description: See O(stratovirt.qmp.stratovirt_nic#module:iothread).
        type: str
      addr:
        description: See O(stratovirt.qmp.stratovirt_nic#module:addr).
        type: str
      bus:
        description: See O(stratovirt.qmp.stratovirt_nic#module:bus).
        type: str
      on_change:
        description: See O(stratovirt.qmp.stratovirt_nic#module:on_change).
        type: str
        choices: [fail, replace]
        default: fail
      allow_cold_unplug:
        description: See O(stratovirt.qmp.stratovirt_nic#module:allow_cold_unplug).
        type: bool
        default: false
'''

    INFO_ATTRIBUTES = r'''
attributes:
  check_mode:
    description: Sends nothing that changes the VM, in check mode or not.
    support: full
  diff_mode:
    description: Changes nothing, so has no diff.
    support: none
  platform:
    description: Runs on the hypervisor host, which must be Linux.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/stratovirt.qmp.stratovirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - stratovirt.qmp.stratovirt
'''

    ATTRIBUTES = r'''
attributes:
  check_mode:
    description: Can run in check mode and return the QMP commands that would be sent, without sending any.
    support: full
  diff_mode:
    description: Returns the device before and after in C(diff) mode.
    support: full
  platform:
    description: Runs on the hypervisor host, which must be Linux.
    support: full
    platforms: posix
  action_group:
    description: Use C(group/stratovirt.qmp.stratovirt) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - stratovirt.qmp.stratovirt
'''
