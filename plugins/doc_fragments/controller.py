# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where this collection's controller-side plugins run, said once (community.general's
attributes fragment does the same for its modules)."""


class ModuleDocFragment:
    DOCUMENTATION = r"""
attributes:
  platform:
    support: full
    platforms: posix
    description: Runs on the Ansible controller (an action plugin, or a module delegated there).
"""
