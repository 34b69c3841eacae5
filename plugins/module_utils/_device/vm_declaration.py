# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The checks of a host's declared VMs (the ``vms`` of stratovirt_vms and stratovirt_vms_info) made before any VM is
contacted: the names key the results, the diff and the role's report lines.

Private to the stratovirt.qmp collection: may change in any release.
Below the converge engine so that the read-only listing makes the same checks without importing it.
"""

from __future__ import annotations

from typing import Any, Dict, Sequence

from .errors import DeviceInputError, FleetInputError
from .spec import check_no_control_characters


def check_named_with_socket(declared: Sequence[Dict[str, Any]]) -> None:
    """:raises FleetInputError: a declared VM without a name or a socket string (the first one)."""
    for number, vm in enumerate(declared):
        if not isinstance(vm.get('name'), str) or not isinstance(vm.get('socket'), str):
            raise FleetInputError({'vms[%d]' % number: 'each declared VM needs a name and a socket'})


def vm_label(params: Dict[str, Any], number: int) -> str:
    """How a result names a declared VM: its name once checked (:func:`name_problems`), else ``vms[N]``."""
    name = params.get('name')
    return name if isinstance(name, str) and name and not name_problem(name) else 'vms[%d]' % number


def name_problem(name: object) -> str:
    """Why ``name`` cannot name a VM ('' if it can): names key the results, the diff and the role's report lines."""
    if not isinstance(name, str) or not name:
        return 'the name is %r: it must be a non-empty string' % (name,)
    try:
        check_no_control_characters({'name': name}, ('name',), 'the VM')
    except DeviceInputError as exc:
        return exc.message
    return ''


def name_problems(declared: Sequence[Dict[str, Any]]) -> Dict[str, str]:
    """Each declared VM whose name is empty, holds a control character, or is another's, by :func:`vm_label`."""
    problems: Dict[str, str] = {}
    seen: Dict[str, int] = {}
    for number, params in enumerate(declared):
        problem = name_problem(params.get('name'))
        if problem:
            problems[vm_label(params, number)] = problem
        elif params['name'] in seen:
            problems[params['name']] = 'the name is declared twice (vms[%d] and vms[%d])' % (seen[params['name']], number)
        else:
            seen[params['name']] = number
    return problems
