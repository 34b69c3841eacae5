# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A VM's declared vCPU count and balloon target: checked, planned and applied in the device modules' session.

Private to the stratovirt.qmp collection: may change in any release.

``vcpus`` is a check only: no recorded release hot-plugs a vCPU safely (missing on 2.1.0-2.3.0 and on every micro VM;
it hangs a 2.4.0/2.5.0 standard VM for good), so a count above the present one is refused before anything is sent,
with the reason the release data gives. ``balloon`` converges with ``balloon`` and is idempotent through
``query-balloon``: StratoVirt asks the guest for (memory - target) in 4 KiB pages, so the size it reaches is the
target rounded up to a page.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

from .._device.errors import DeviceApplyError, DeviceInputError
from .._dialect import cmdline
from .._dialect.dialect import MACHINE_MICRO, Dialect
from .._qmp.errors import QMPCommandError, QMPTimeoutError

BALLOON_PAGE = 4096
BALLOON_DEVICE = {MACHINE_MICRO: '-device virtio-balloon-device,id=balloon0', 'standard': '-device virtio-balloon-pci,id=balloon0,bus=...,addr=0x0'}


class ResourceTargets(NamedTuple):
    """What a task declares of the VM's resources (None: not declared)."""

    vcpus: Optional[int]
    balloon: Optional[int]  # bytes

    @property
    def declared(self) -> bool:
        return self.vcpus is not None or self.balloon is not None


def targets_from_params(params: Dict[str, Any]) -> ResourceTargets:
    """:raises DeviceInputError: a vCPU count below 1, or a balloon target that is no positive size."""
    vcpus = params.get('vcpus')
    if vcpus is not None and vcpus < 1:
        raise DeviceInputError('vcpus is %d: a VM has at least one vCPU' % vcpus)
    balloon = params.get('balloon')
    size = None
    if balloon is not None:
        size = cmdline.parse_size(str(balloon), 1)
        if not size:
            raise DeviceInputError('balloon is %r: give the target memory as bytes or with a unit (512M, 1G), above 0' % (balloon,))
    return ResourceTargets(vcpus, size)


class ResourcePlan(NamedTuple):
    before: Dict[str, Any]
    after: Dict[str, Any]
    commands: List[dict]
    memory: int


def plan_resources(client, dialect: Dialect, argv: List[str], targets: ResourceTargets) -> ResourcePlan:
    """Read what the VM has (``query-cpus``, ``query-balloon``) and refuse what cannot or must not be done.

    :raises DeviceInputError: a refusal; nothing was sent but those queries.
    """
    before: Dict[str, Any] = {}
    after: Dict[str, Any] = {}
    commands: List[dict] = []
    memory = cmdline.memory_size(argv)
    if targets.vcpus is not None:
        present = len(client.execute('query-cpus') or [])
        check_vcpus(dialect, present, cmdline.vcpus(argv)[1], targets.vcpus)
        before['vcpus'] = after['vcpus'] = present
    if targets.balloon is not None:
        if targets.balloon > memory:
            raise DeviceInputError('balloon target %d bytes is above the VM\'s memory (%d bytes, its -m)' % (targets.balloon, memory))
        actual = balloon_actual(client, dialect)
        reached = reachable(memory, targets.balloon)
        before['balloon'] = actual
        after['balloon'] = reached
        if actual != reached:
            commands.append({'execute': 'balloon', 'arguments': {'value': targets.balloon}})
    return ResourcePlan(before, after, commands, memory)


def check_vcpus(dialect: Dialect, present: int, possible: int, wanted: int) -> None:
    """:raises DeviceInputError: ``wanted`` vCPUs cannot be had without a hot-plug that is missing or hangs the VM."""
    if wanted == present:
        return
    if wanted < present:
        raise DeviceInputError('vcpus %d is below the VM\'s %d present vCPUs: StratoVirt cannot remove a vCPU from a running VM' % (wanted, present))
    if wanted > possible:
        raise DeviceInputError('vcpus %d is above the VM\'s %d possible vCPUs (-smp maxcpus)' % (wanted, possible))
    refusal = dialect.vcpu_hotplug_refusal
    raise DeviceInputError(
        'vcpus %d needs %d more vCPU(s) than the VM\'s %d, and %s; nothing was sent'
        % (wanted, wanted - present, present, refusal or 'this collection does not hot-plug vCPUs yet')
    )


def balloon_actual(client, dialect: Dialect) -> int:
    """:raises DeviceInputError: the VM has no balloon device."""
    try:
        reply = client.execute('query-balloon')
    except QMPCommandError as exc:
        if not dialect.is_balloon_inactive(exc):
            raise
        raise DeviceInputError(
            'the VM has no balloon device (query-balloon: %s), so its memory cannot be ballooned: start it with %s'
            % (exc.desc, BALLOON_DEVICE.get(dialect.machine, BALLOON_DEVICE['standard']))
        ) from None
    return int(reply['actual'])


def reachable(memory: int, target: int) -> int:
    """The size StratoVirt's balloon reaches for ``target``: it asks for whole pages."""
    return memory - ((memory - target) // BALLOON_PAGE) * BALLOON_PAGE


def apply_balloon(client, dialect: Dialect, plan: ResourcePlan, wait_timeout: float) -> Optional[str]:
    """Send the plan's ``balloon``, then wait for the guest to reach the target.

    :returns: a note when the guest had not reached it within ``wait_timeout`` (it goes on in the background).
    :raises DeviceApplyError: the guest's balloon driver is not active (nothing changed).
    """
    for command in plan.commands:
        try:
            client.execute('balloon', command['arguments'])
        except QMPCommandError as exc:
            if not dialect.is_balloon_inactive(exc):
                raise
            raise DeviceApplyError(
                'the VM has a balloon device but its guest has not activated the balloon driver (virtio_balloon), so '
                'StratoVirt refused the target (balloon: %s); nothing changed' % exc.desc
            ) from None
        wanted = plan.after['balloon']
        try:
            while True:
                event = client.wait_event('BALLOON_CHANGED', timeout=wait_timeout)
                if (event.get('data') or {}).get('actual') == wanted:
                    return None
        except QMPTimeoutError:
            now = balloon_actual(client, dialect)
            if now == wanted:
                return None
            return 'the guest has not reached the balloon target %d bytes within %ss (%d bytes now); it goes on in the background' % (wanted, wait_timeout, now)
    return None
