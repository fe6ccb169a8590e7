"""How the cohort callback names a task's hosts: as an inventory writes a range of them, read back by
Ansible's own inventory (the YAML inventory plugin expands user[01:30] to its 30 hosts)."""

from __future__ import annotations

import pytest
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader

from plugins.callback.cohort import hosts_shown


def expanded(shown: str, tmp_path) -> list[str]:
    """The hosts an inventory holds whose hosts are written as the callback shows them."""
    hosts = "".join(f"    {part}:\n" for part in shown.split(", "))
    (tmp_path / "hosts.yml").write_text(f"cohort:\n  hosts:\n{hosts}")
    inventory = InventoryManager(loader=DataLoader(), sources=[str(tmp_path / "hosts.yml")])
    return sorted(host.name for host in inventory.get_hosts("cohort"))


@pytest.mark.parametrize(
    ("names", "shown"),
    [
        ([f"user{n:02d}" for n in range(1, 31)], "user[01:30]"),
        (["user03", "user01", "user02"], "user[01:03]"),  # in the order results arrive
        (["user01", "user02"], "user01, user02"),  # two are listed, not a range
        (["user01", "user02", "user03", "user05", "user06", "user07", "user09"], "user[01:03], user[05:07], user09"),
        (["user9", "user10", "user11"], "user[9:11]"),  # no zero padding: [9:11] gives user9, user10, user11
        (["user09", "user10", "user11"], "user[09:11]"),  # padded to two digits
        (["user8", "user09", "user10"], "user8, user09, user10"),  # user[8:10] would give user9, not user09
        (["kim01", "kim02", "kim03", "lee01", "park"], "kim[01:03], lee01, park"),
        (["user01", "user01", "user02", "user03"], "user[01:03]"),
    ],
)
def test_hosts_are_shown_as_an_inventory_range_that_gives_them_back(names, shown, tmp_path):
    assert hosts_shown(names) == shown
    assert expanded(shown, tmp_path) == sorted(set(names))
