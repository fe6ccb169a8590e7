# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""verify's filter; the logic lives in module_utils/verify/ (pure, unit-tested)."""

from __future__ import annotations

from ansible_collections.mlopslab.monitoring.plugins.filter.common import results
from ansible_collections.mlopslab.monitoring.plugins.module_utils.verify import lab_health


def clusters_health(answers):
    return lab_health.health(results(answers, "health"))


class FilterModule:
    def filters(self):
        return {"clusters_health": clusters_health}
