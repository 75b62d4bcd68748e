"""Discovery's settings as an administrator sets them: one table of parameters and defaults in the
code (mailcore.discovery.PARAMETERS), which the README's table must repeat exactly."""

import re
from pathlib import Path

from mailcore.discovery import PARAMETERS, configured
from mailcore.discovery.options import SOURCE_NAMES

README = Path(__file__).resolve().parents[2] / "README.md"
ROW = re.compile(r"^\| `email_account\.discovery_(\w+)` \| (?:`([^`]*)`|\([^)]*\)) \|", re.MULTILINE)


def test_the_readme_documents_every_parameter_with_its_default():
    # A default written in words, "(none)" or "(system resolver)", stands for an empty parameter.
    documented = dict(ROW.findall(README.read_text(encoding="utf-8")))
    assert documented == PARAMETERS


def test_unset_parameters_give_the_defaults():
    options, budget = configured(lambda _name: None)
    assert budget == float(PARAMETERS["budget"])
    assert all(getattr(options, f"use_{name}") for name in SOURCE_NAMES)
    assert (options.nameservers, options.dns_port, options.allow_http) == ((), 53, False)


def test_set_parameters_are_read():
    values = {"sources": "providers, srv", "nameservers": "192.0.2.1, 192.0.2.2", "dns_port": "5353",
              "budget": "4.5", "allow_http": "True", "extra_ports": "2465,x"}  # fmt: skip
    options, budget = configured(values.get, cafile="/ca.pem")
    assert [name for name in SOURCE_NAMES if getattr(options, f"use_{name}")] == ["providers", "srv"]
    assert options.nameservers == ("192.0.2.1", "192.0.2.2") and options.dns_port == 5353
    assert (budget, options.allow_http, options.cafile) == (4.5, True, "/ca.pem")
    assert options.extra_ports == frozenset({2465})
