# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy pipeline's two ways to stop, shared by its steps (pipeline.py) and its I/O
(cluster.py)."""

from __future__ import annotations


class Refused(Exception):
    """The run stops here; the message says why and what to do (one sentence a person reads)."""


class Unreachable(Exception):
    """The cluster did not answer (no client, no connection, an error status where one was needed)."""
