"""The ansible-core internals the collection uses, tried on the installed core: each test fails,
naming what moved, on a core where the render would break or slow down."""

from __future__ import annotations

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible.vars.hostvars import HostVars
from ansible.vars.manager import VariableManager

from plugins.plugin_utils.ansible_core import compiling_once, load_trusted, running_inventory, trust_as_template


def test_the_running_inventory_is_reachable_from_hostvars(tmp_path):
    (tmp_path / "hosts.yml").write_text("cohort:\n  hosts:\n    user01:\n  vars:\n    mlopslab_cohort: fall26\n")
    loader = DataLoader()
    inventory = InventoryManager(loader=loader, sources=[str(tmp_path / "hosts.yml")])
    hostvars = HostVars(inventory=inventory, variable_manager=VariableManager(loader=loader, inventory=inventory),
                        loader=loader)  # fmt: skip
    found = running_inventory({"hostvars": hostvars})
    assert found is inventory
    cohort = next(g for g in found.get_host("user01").get_groups() if g.name == "cohort")
    assert cohort.get_vars() == {"mlopslab_cohort": "fall26"}


def test_each_distinct_template_is_compiled_once_and_renders_the_same():
    templar = Templar(loader=DataLoader())
    engine = templar._engine
    assert hasattr(engine, "_compile_template") and hasattr(engine, "_compile_expression"), (
        "ansible-core moved the templar's compile step: compiling_once no longer saves the render's time"
    )
    calls = []
    original = engine._compile_template

    def counting(text, options):
        calls.append(text)
        return original(text, options)

    engine._compile_template = counting
    compiling_once(templar)
    rendered = []
    for student in ("user01", "user02", "user03"):
        templar.available_variables = {"student": student}
        rendered.append(templar.template(trust_as_template("ns-{{ student }}")))
    assert rendered == ["ns-user01", "ns-user02", "ns-user03"]
    assert len(calls) == 1, calls


def test_a_roles_own_file_is_trusted_as_templates(tmp_path):
    (tmp_path / "main.yml").write_text("greeting: \"{{ 'hi' | upper }}\"\n")
    data = load_trusted(DataLoader(), str(tmp_path / "main.yml"))
    assert Templar(loader=DataLoader()).template(data["greeting"]) == "HI"
