"""A throwaway OpenLDAP server (Debian's slapd) on free loopback ports, with a small directory.

People, groups that map to roles, a disabled account and a user whose password changes; plain
LDAP with StartTLS and LDAPS, both on a self-signed certificate made for the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

BASE = "dc=brigade,dc=test"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "admin-secret"
SERVICE_DN = f"cn=brigade-svc,ou=services,{BASE}"
SERVICE_PASSWORD = "service-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _person(uid: str, name: str, password: str, dept: str, extra: str = "") -> str:
    return f"""dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
uid: {uid}
cn: {name}
sn: {name.split()[-1]}
mail: {uid}@brigade.test
title: Operator
departmentNumber: {dept}
employeeNumber: L-{uid}
userPassword: {password}
{extra}
"""


DIRECTORY = f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Brigade Test
dc: brigade

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

dn: ou=services,{BASE}
objectClass: organizationalUnit
ou: services

dn: {SERVICE_DN}
objectClass: person
cn: brigade-svc
sn: service
userPassword: {SERVICE_PASSWORD}

{_person("anna", "Anna Ozola", "anna-password-1", "PLANT")}
{_person("boris", "Boris Petrov", "boris-password-1", "OFFICE")}
{_person("dora", "Dora Disabled", "dora-password-1", "PLANT", "employeeType: disabled")}
{_person("chris", "Chris Changed", "chris-old-password", "PLANT")}
dn: cn=brigade-admins,ou=groups,{BASE}
objectClass: groupOfNames
cn: brigade-admins
member: uid=anna,ou=people,{BASE}

dn: cn=brigade-managers,ou=groups,{BASE}
objectClass: groupOfNames
cn: brigade-managers
member: uid=anna,ou=people,{BASE}
member: uid=boris,ou=people,{BASE}
"""


class LdapServer:
    def __init__(self) -> None:
        self.slapd = shutil.which("slapd") or "/usr/sbin/slapd"
        if not os.path.exists(self.slapd):
            raise RuntimeError("slapd not found; run `make system-deps` (slapd, ldap-utils)")
        self.dir = tempfile.mkdtemp(prefix="brigade-ldap-")
        self.port = _free_port()
        self.ssl_port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.cert = os.path.join(self.dir, "cert.pem")

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ssl_port}"

    def start(self) -> LdapServer:
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-keyout",
                key,
                "-out",
                self.cert,
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ],
            check=True,
            capture_output=True,
        )
        db = os.path.join(self.dir, "db")
        os.mkdir(db)
        conf = os.path.join(self.dir, "slapd.conf")
        with open(conf, "w") as fh:
            fh.write(
                f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {self.dir}/slapd.pid
TLSCertificateFile {self.cert}
TLSCertificateKeyFile {key}
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {db}
"""
            )
        ldif = os.path.join(self.dir, "directory.ldif")
        with open(ldif, "w") as fh:
            fh.write(DIRECTORY)
        subprocess.run(["slapadd", "-f", conf, "-l", ldif], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [
                self.slapd,
                "-d",
                "0",
                "-f",
                conf,
                "-h",
                f"ldap://127.0.0.1:{self.port}/ ldaps://127.0.0.1:{self.ssl_port}/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError as err:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        self.proc.stderr.read().decode() if self.proc.stderr else "slapd exited"
                    ) from err
                time.sleep(0.1)
        raise RuntimeError("slapd did not start")

    def set_password(self, uid: str, password: str) -> None:
        subprocess.run(
            [
                "ldappasswd",
                "-x",
                "-H",
                self.url,
                "-D",
                ADMIN_DN,
                "-w",
                ADMIN_PASSWORD,
                "-s",
                password,
                f"uid={uid},ou=people,{BASE}",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
