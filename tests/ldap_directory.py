"""A real LDAP directory for the sign-in tests: Debian's slapd on a free loopback port, its database
loaded with ``slapadd`` from a small test directory (people and groups) into a temporary directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SLAPD, SLAPADD = "/usr/sbin/slapd", "/usr/sbin/slapadd"
BASE = "dc=corp,dc=example"
PEOPLE = f"ou=people,{BASE}"
PASSWORDS = {"dan": "dan's directory password", "alice": "the directory's alice password"}

LDIF = f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Corp
dc: corp

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: uid=dan,{PEOPLE}
objectClass: inetOrgPerson
uid: dan
cn: Dan Directory
givenName: Dan
sn: Directory
mail: dan@corp.example
userPassword: {PASSWORDS["dan"]}

dn: uid=alice,{PEOPLE}
objectClass: inetOrgPerson
uid: alice
cn: Another Alice
sn: Alice
mail: alice@corp.example
userPassword: {PASSWORDS["alice"]}

dn: cn=acme-devs,ou=groups,{BASE}
objectClass: groupOfNames
cn: acme-devs
member: uid=dan,{PEOPLE}
member: uid=alice,{PEOPLE}

dn: cn=acme-admins,ou=groups,{BASE}
objectClass: groupOfNames
cn: acme-admins
member: uid=dan,{PEOPLE}
"""

CONFIG = """include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {root}/slapd.pid
database mdb
suffix "{base}"
rootdn "cn=admin,{base}"
rootpw admin-password
directory {root}/db
access to attrs=userPassword by self auth by anonymous auth by * none
access to * by * read
"""


@dataclass
class Directory:
    uri: str
    pid: int

    def env(self, group_map: str) -> dict[str, str]:
        """Wharf's settings for this directory."""
        return {
            "WHARF_LDAP_URI": self.uri,
            "WHARF_LDAP_USER_DN_TEMPLATE": f"uid=%(user)s,{PEOPLE}",
            "WHARF_LDAP_GROUP_SEARCH_BASE": f"ou=groups,{BASE}",
            "WHARF_LDAP_GROUP_MAP": group_map,
        }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def ldap_directory(tmp_path: Path) -> Iterator[Directory]:
    if not os.path.exists(SLAPD) or not os.path.exists(SLAPADD):
        pytest.skip(f"{SLAPD} is missing (apt-get install -y slapd)")
    if os.geteuid() != 0:
        pytest.skip("this slapd set-up runs as root")
    root = tmp_path / "slapd"
    (root / "db").mkdir(parents=True)
    (root / "slapd.conf").write_text(CONFIG.format(root=root, base=BASE))
    (root / "data.ldif").write_text(LDIF)
    conf = str(root / "slapd.conf")
    subprocess.run([SLAPADD, "-f", conf, "-l", str(root / "data.ldif")], check=True, capture_output=True)
    port = _free_port()
    subprocess.run([SLAPD, "-f", conf, "-h", f"ldap://127.0.0.1:{port}/"], check=True, capture_output=True)
    deadline = time.monotonic() + 10
    while not ((root / "slapd.pid").exists() and _answers(port)):
        if time.monotonic() > deadline:
            pytest.fail("slapd did not start")
        time.sleep(0.05)
    pid = int((root / "slapd.pid").read_text())
    try:
        yield Directory(f"ldap://127.0.0.1:{port}", pid)
    finally:
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}"):
                break
            time.sleep(0.05)
