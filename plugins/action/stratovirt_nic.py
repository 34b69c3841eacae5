# Copyright (c) 2026 stratovirt.qmp contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of stratovirt_nic: the module as it is; in check mode its result shows without -v (plugin_utils)."""

from __future__ import annotations

from ansible_collections.stratovirt.qmp.plugins.plugin_utils.check_mode_report import CheckModeReportAction


class ActionModule(CheckModeReportAction):
    pass
