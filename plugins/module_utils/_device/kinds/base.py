# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every device kind provides: the strategy interface the planner, executor and state call.

Private to the stratovirt.qmp collection: may change in any release.
A kind module (``_device.kinds.disk``, ``_device.kinds.nic``) subclasses :class:`DeviceKind`; ``_device.kinds.registry`` registers it.
Everything that differs between disks and NICs lives in those modules and nowhere else
(``tests/unit/plugins/module_utils/_device/kinds/test_registry.py`` guards that).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from ..model import SOURCE_COLD, Device
from ..spec import DeviceSpec
from ..errors import DeviceInputError
from ..steps import Step
from ..._host.process import same_file

# An iothread id, as -object iothread,id=... names it (a kind's iothread option names one).
IOTHREAD_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}')

# How a kind option of a present device is compared with the task's (an option a kind does not list is not compared).
COMPARE_EQUAL = 'equal'
COMPARE_FILE = 'file'  # the same file, by identity: a hard link or symlink to the image is that image
# Equal, unless the device is cold-plugged: the command line does not say how its backend was opened.
COMPARE_HOT_PLUGGED = 'hot-plugged'


def compare(found: List[str], name: str, have: Any, want: Any) -> None:
    """Note a difference only when both sides are known: an unknown value is never guessed."""
    if want is not None and have is not None and have != want:
        found.append('%s: %r -> %r' % (name, have, want))


class DeviceKind:
    """One kind of hot-pluggable device. Class attributes describe it; methods are its behaviour."""

    name = ''  # the ``kind`` of the record, of ``device`` and of ``devices[]``
    label = ''  # how messages name it
    list_option = ''  # the list option of stratovirt_devices and of its own module
    module = ''  # the module that manages it
    options: Dict[str, dict] = {}  # its own argspec entries, the same at the top and in list items
    compared: Dict[str, str] = {}  # option -> COMPARE_*, in the order differences are reported
    normalisers: Dict[str, Callable[[Any], Any]] = {}  # option -> its normal form (applied to a set value only)
    # Options recorded (and shown) even without a value, where None says something: nothing of it was sent.
    recorded_unset: Tuple[str, ...] = ()
    # Options not every release and machine type takes: option -> where it goes on the wire (a key of
    # _stratovirt_traits.OPTIONS_SINCE). Set on a VM that lacks it, it is refused before anything is sent.
    wire_names: Dict[str, str] = {}
    ranges: Dict[str, Tuple[int, int]] = {}  # integer option -> (lowest, highest) it may be
    micro_slots = 0  # virtio-mmio slots of a micro VM
    free_key = ''  # the key of ``free`` in stratovirt_info
    held_noun = ''  # what the VM process holds while it is plugged (messages)
    cold_backend_option = ''  # the command-line option of its backend (-drive, -netdev)
    cold_drivers: frozenset = frozenset()
    cold_link = ''  # the -device property naming its backend

    @property
    def string_options(self) -> Tuple[str, ...]:
        """Its string options, checked for control characters before anything else."""
        return tuple(name for name, argspec in self.options.items() if argspec.get('type') in ('str', 'path'))

    def describe(self, device_id: str) -> str:
        return '%s %s' % (self.label, device_id)

    # -- the task's options -------------------------------------------

    def read(self, spec: DeviceSpec, params: Dict[str, Any]) -> DeviceSpec:
        """The declared device with this kind's options (defaults filled in, then normalised), checked for form.

        :raises DeviceInputError:
        """
        declared = {}
        for name, argspec in self.options.items():
            value = params.get(name)
            if value is None:
                value = argspec.get('default')
            # A flag without a default stays None when unset: not sent, not compared, not recorded.
            declared[name] = bool(value) if argspec.get('type') == 'bool' and value is not None else value
        normal = {name: self.normalisers[name](value) if name in self.normalisers and value is not None else value for name, value in declared.items()}
        spec = spec._replace(options=declared, normal=normal)
        self._check_choices_and_ranges(spec)
        self.check_form(spec)
        return spec

    def _check_choices_and_ranges(self, spec: DeviceSpec) -> None:
        for name, argspec in self.options.items():
            value = spec.options[name]
            if value is None:
                continue
            if 'choices' in argspec and value not in argspec['choices']:
                raise DeviceInputError('%s: %s must be one of %s' % (self.describe(spec.id), name, ', '.join(argspec['choices'])))
            if name in self.ranges:
                lowest, highest = self.ranges[name]
                if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
                    raise DeviceInputError('%s: %s must be an integer from %d to %d, not %r' % (self.describe(spec.id), name, lowest, highest, value))

    def check_iothread_form(self, spec: DeviceSpec) -> None:
        """Refuse an ``iothread`` that is no iothread id (a kind that has the option calls this). :raises DeviceInputError:"""
        iothread = spec.options.get('iothread')
        if iothread is not None and not IOTHREAD_PATTERN.fullmatch(iothread):
            raise DeviceInputError('%s: iothread %r is not an iothread id (letters, digits, ".", "_" or "-")' % (self.describe(spec.id), iothread))

    def check_iothread_exists(self, state, spec: DeviceSpec) -> None:
        """Refuse an ``iothread`` the VM's command line does not create. :raises DeviceInputError:"""
        iothread = spec.options.get('iothread')
        if iothread is not None and iothread not in state.iothreads:
            raise DeviceInputError(
                '%s: iothread %s is not an iothread of this VM (its iothreads: %s); StratoVirt needs it on the VM\'s command '
                'line (-object iothread,id=%s)' % (self.describe(spec.id), iothread, ', '.join(state.iothreads) or 'none', iothread)
            )

    def check_taken(self, dialect, spec: DeviceSpec) -> None:
        """Refuse an option set that this VM's release or machine type refuses or ignores (see :attr:`wire_names`).

        :raises DeviceInputError: naming the machine type or the release that takes it.
        """
        for name, wire in self.wire_names.items():
            if spec.options.get(name) in (None, False):  # unset, or a flag left off: nothing is sent
                continue
            refusal = dialect.option_refusal(wire)
            if refusal:
                raise DeviceInputError('%s: %s: %s: leave %s unset' % (self.describe(spec.id), name, refusal, name))

    def check_form(self, spec: DeviceSpec) -> None:
        """Refuse an option of the wrong form, or a missing one ``state=present`` needs. :raises DeviceInputError:"""

    def check_host(self, spec: DeviceSpec) -> Optional[str]:
        """What a present device names must exist on this host; :returns: a note for the user if it is plugged, or None.

        :raises DeviceInputError:
        """
        raise NotImplementedError

    def exclusive_file(self, spec: DeviceSpec) -> Optional[str]:
        """The file no other process may write while this VM uses it, or None."""
        return None

    # -- planning -----------------------------------------------------

    def differences(self, current: Device, declared: Device, found: List[str]) -> None:
        """Append the differences of this kind's compared options (see :func:`compare`)."""
        for name, mode in self.compared.items():
            have, want = current.option(name), declared.option(name)
            if mode == COMPARE_FILE:
                if not same_file(have, want):
                    compare(found, name, have, want)
            elif mode == COMPARE_EQUAL or current.source != SOURCE_COLD:
                compare(found, name, have, want)

    def recorded_options(self, normal: Mapping[str, Any]) -> Dict[str, Any]:
        """The options a record entry keeps (to compare them on a later run): the compared ones that are set."""
        return {name: normal.get(name) for name in self.compared if normal.get(name) is not None or name in self.recorded_unset}

    def check_plug(self, state, spec: DeviceSpec, others: Dict[str, Device]) -> None:
        """Refuse a plug this VM (its release, its other devices) cannot take safely. :raises DeviceInputError:"""
        raise NotImplementedError

    def check_kept(self, dialect, device: Device) -> None:
        """Refuse to keep a device an earlier run plugged that this VM cannot hold safely. :raises DeviceInputError:"""

    def plug(self, dialect, spec: DeviceSpec, slot: Optional[int], bus: Optional[str]) -> Tuple[List[Step], Device]:
        """Backend add and device add, and the device once they are applied (its options as recorded)."""
        raise NotImplementedError

    def micro_unplug_follow_ups(self, dialect, device_id: str) -> List[Step]:
        """Steps after a micro VM ``device_del`` whose answer needs telling apart."""
        return []

    def backend_del_step(self, device_id: str) -> Step:
        """Removal of a standard VM device's backend once the guest let the device go."""
        raise NotImplementedError

    # -- the host view --------------------------------------------------

    def host_holds(self, state, device: Device) -> bool:
        """Whether the VM process visibly holds what ``device`` names (its image, its tap)."""
        raise NotImplementedError

    def attached_at_device_add(self, state, device: Device) -> bool:
        """Whether holding it proves that an interrupted plug's ``device_add`` went through."""
        raise NotImplementedError

    def adopt(self, state, spec: DeviceSpec) -> Optional[Device]:
        """A declared device the VM visibly has though nothing known explains it, else None."""
        raise NotImplementedError

    def cold_options(self, props: Dict[str, str]) -> Dict[str, Any]:
        """Its options a command line gives (``props``: a backend's properties overlaid with its device's), as
        written there: a relative path is the VM's."""
        raise NotImplementedError

    def cold_backend_wanted(self, props: Dict[str, str]) -> bool:
        return True

    def cold_device(self, state, cold, slot: Optional[int], bus: Optional[str]) -> Optional[Device]:
        """The current device a cold-plugged one is (its options read from ``cold.props``), if the host shows it
        attached."""
        raise NotImplementedError

    def keep_after_unplug(self, state, device: Device) -> Optional[str]:
        """Record what the VM still holds of an unplugged device; a note for the user, or None."""
        return None

    def recall_retained(self, state, device: Device) -> None:
        """A record entry of what an unplugged device left held: kept while the host still shows it."""
        state.record.remove(device.id)

    def unexplained(self, state, argv: List[str]) -> List[str]:
        """What the VM holds of this kind that no known device explains (stratovirt_info's mismatches)."""
        return []

    # -- what the user sees ---------------------------------------------

    def guest_name(self, device: Device) -> Optional[str]:
        """The name the guest knows the device by, where the host can tell it (docs/user-guide.md), else None."""
        return None

    def retained_views(self, state) -> List[dict]:
        """stratovirt_info's entries for what unplugged devices left held."""
        return []
