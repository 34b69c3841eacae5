# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every device kind provides: the strategy interface the planner, executor and state call.

Private to the stratovirt.qmp collection: may change in any release.
A kind module (``_kind_disk``, ``_kind_nic``) subclasses :class:`DeviceKind`; ``_kinds`` registers it.
Everything that differs between disks and NICs lives in those modules and nowhere else
(``tests/unit/plugins/module_utils/test__kinds.py`` guards that).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ._device import CurrentDevice
from ._device_record import DeviceEntry
from ._device_spec import DeviceSpec
from ._steps import Step


def compare(found: List[str], name: str, have: Any, want: Any) -> None:
    """Note a difference only when both sides are known: an unknown value is never guessed."""
    if want is not None and have is not None and have != want:
        found.append('%s: %r -> %r' % (name, have, want))


class DeviceKind:
    """One kind of hot-pluggable device. Class attributes describe it; methods are its behaviour."""

    name = ''                 # the ``kind`` of the record, of ``device`` and of ``devices[]``
    label = ''                # how messages name it
    list_option = ''          # the list option of stratovirt_devices and of its own module
    module = ''               # the module that manages it
    options: Dict[str, dict] = {}   # its own argspec entries, the same at the top and in list items
    micro_slots = 0           # virtio-mmio slots of a micro VM
    free_key = ''             # the key of ``free`` in stratovirt_info
    held_noun = ''            # what the VM process holds while it is plugged (messages)
    cold_backend_option = ''  # the command-line option of its backend (-drive, -netdev)
    cold_drivers: frozenset = frozenset()
    cold_link = ''            # the -device property naming its backend

    def describe(self, device_id: str) -> str:
        return '%s %s' % (self.label, device_id)

    # -- the task's options -------------------------------------------

    def read(self, spec: DeviceSpec, params: Dict[str, Any]) -> DeviceSpec:
        """The declared device with this kind's options, checked for form.

        :raises DeviceInputError:
        """
        raise NotImplementedError

    def check_host(self, spec: DeviceSpec) -> None:
        """What a present device names must exist on this host. :raises DeviceInputError:"""
        raise NotImplementedError

    def exclusive_file(self, spec: DeviceSpec) -> Optional[str]:
        """The file no other process may write while this VM uses it, or None."""
        return None

    # -- planning -----------------------------------------------------

    def differences(self, current: CurrentDevice, spec: DeviceSpec, found: List[str]) -> None:
        """Append the differences of this kind's fields (see :func:`compare`)."""
        raise NotImplementedError

    def check_plug(self, state, spec: DeviceSpec, others: Dict[str, CurrentDevice]) -> None:
        """Refuse a plug this VM (its release, its other devices) cannot take safely. :raises DeviceInputError:"""
        raise NotImplementedError

    def plug(self, dialect, spec: DeviceSpec, slot: Optional[int], bus: Optional[str]) -> Tuple[List[Step], DeviceEntry]:
        """Backend add and device add, and the record entry once they are applied."""
        raise NotImplementedError

    def micro_unplug_follow_ups(self, dialect, device_id: str) -> List[Step]:
        """Steps after a micro VM ``device_del`` whose answer needs telling apart."""
        return []

    def backend_del_step(self, device_id: str) -> Step:
        """Removal of a standard VM device's backend once the guest let the device go."""
        raise NotImplementedError

    # -- the host view --------------------------------------------------

    def host_holds(self, state, device) -> bool:
        """Whether the VM process visibly holds what ``device`` (a record entry or a current device) names."""
        raise NotImplementedError

    def attached_at_device_add(self, state, entry: DeviceEntry) -> bool:
        """Whether holding it proves that an interrupted plug's ``device_add`` went through."""
        raise NotImplementedError

    def adopt(self, state, spec: DeviceSpec) -> Optional[DeviceEntry]:
        """The entry of a declared device the VM visibly has though nothing known explains it, else None."""
        raise NotImplementedError

    def cold_backend(self, props: Dict[str, str]) -> Tuple[Optional[str], Optional[str], Optional[bool]]:
        """``(path, ifname, read_only)`` of its command-line backend."""
        raise NotImplementedError

    def cold_backend_wanted(self, props: Dict[str, str]) -> bool:
        return True

    def cold_device(self, state, cold, slot: Optional[int], bus: Optional[str]) -> Optional[CurrentDevice]:
        """The current device a cold-plugged one is, if the host shows it attached."""
        raise NotImplementedError

    def keep_after_unplug(self, state, device_id: str, device) -> Optional[str]:
        """Record what the VM still holds of an unplugged device; a note for the user, or None."""
        return None

    def recall_retained(self, state, entry: DeviceEntry) -> None:
        """A record entry of what an unplugged device left held: kept while the host still shows it."""
        state.record.remove(entry.id)

    def unexplained(self, state, argv: List[str]) -> List[str]:
        """What the VM holds of this kind that no known device explains (stratovirt_info's mismatches)."""
        return []

    # -- what the user sees ---------------------------------------------

    def view_fields(self, device: CurrentDevice) -> Dict[str, Any]:
        """This kind's fields of ``device`` / ``devices[]`` / ``before`` / ``after``."""
        raise NotImplementedError

    def retained_views(self, state) -> List[dict]:
        """stratovirt_info's entries for what unplugged devices left held."""
        return []
