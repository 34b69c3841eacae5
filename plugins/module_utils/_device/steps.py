# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One QMP command of a plan, and what it is for (the executor acts on the purpose, not on the command name).

Private to the stratovirt.qmp collection: may change in any release.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

PURPOSE_UNPLUG = 'unplug'
PURPOSE_BACKEND = 'backend'
PURPOSE_DEVICE = 'device'
PURPOSE_BACKEND_DEL = 'backend-del'
# A second device_del, sent only when the first one answered the NIC unplug defect: its answer tells the outcome.
PURPOSE_UNPLUG_FOLLOW_UP = 'unplug-follow-up'


class Step(NamedTuple):
    execute: str
    arguments: dict
    purpose: str
    device_id: str
    when: Optional[str] = None  # the condition a conditional step is sent under; None: always

    @property
    def command(self) -> dict:
        return {'execute': self.execute, 'arguments': self.arguments}
