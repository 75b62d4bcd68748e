"""The pip requirements of an Odoo source for this Python (standard library + `packaging`).

Odoo pins per Python version with markers, and the pins it picks for Python 3.11 have no wheels
for some packages here (they fail to build). The pins picked for 3.12 all have 3.11 wheels, so the
markers are evaluated as if on 3.12. Left out: python-ldap, gevent and greenlet (not needed by the
tests or a single-process server) and psycopg2, replaced by its binary wheel.
"""

from packaging.markers import default_environment
from packaging.requirements import Requirement

LEFT_OUT = {"python-ldap", "gevent", "greenlet", "psycopg2"}
ADDED = ["psycopg2-binary==2.9.9"]


def odoo_requirements(path):
    environment = default_environment() | {"python_version": "3.12", "python_full_version": "3.12.0"}
    wanted = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            requirement = Requirement(text)
            if requirement.name.lower() in LEFT_OUT:
                continue
            if requirement.marker is None or requirement.marker.evaluate(environment):
                requirement.marker = None
                wanted.append(str(requirement))
    return wanted + ADDED
