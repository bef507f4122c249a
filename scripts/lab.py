"""The local lab (run through scripts/lab.sh): real PostgreSQL + Kea schema, the collection's playbook, clean-up."""

from __future__ import annotations

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.harness.ansible import ansible_env, tool  # noqa: E402
from tests.harness.postgres import PgCluster  # noqa: E402

SHOW_SQL = ("SELECT hostname, host('0.0.0.0'::inet + ipv4_address) AS ip, encode(dhcp_identifier, 'hex') AS identifier, "
            "dhcp_identifier_type, dhcp4_subnet_id FROM hosts ORDER BY ipv4_address")


def main() -> int:
    print("lab: starting PostgreSQL with the Kea schema (kea-admin db-init pgsql)")
    with PgCluster() as pg:
        print(f"lab: PostgreSQL on 127.0.0.1:{pg.port}, Kea schema {pg.kea_admin('db-version').strip().splitlines()[-1]}")
        proc = subprocess.run([tool("ansible-playbook"), "ddi.kea_dns.lab"], env=ansible_env(pg.env()), check=False)
        if proc.returncode != 0:
            return proc.returncode
        print("\nlab: the hosts table as Kea reads it (identifier type 0 = hw-address):")
        for row in pg.kea_sql(SHOW_SQL):
            print("   ", " | ".join(str(col) for col in row))
        print("lab: stopping PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
