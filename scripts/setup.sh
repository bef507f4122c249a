#!/usr/bin/env bash
# Sourced by scripts/test.sh and scripts/lab.sh: installs what the project needs on Debian 12
# (Debian packages when missing, .venv from the pinned requirements-dev.txt) and exports
# KEA_DNS_VENV and KEA_DNS_ROOT. Safe to run again: it only installs what is missing or changed.
set -euo pipefail

KEA_DNS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEA_DNS_VENV="$KEA_DNS_ROOT/.venv"
export KEA_DNS_ROOT KEA_DNS_VENV

# Debian packages: PostgreSQL server binaries, Kea's schema tool, shellcheck for ansible-test sanity.
# DNS servers for the backend tests: PowerDNS (sqlite3 backend), BIND 9, Knot (+ its Python control library).
# Java 17 for ansible-rulebook (its rule engine, Drools, runs in a JVM). Kea DHCPv4, DHCPv6 and the control agent for
# the lease backup tests and the kea_server role; busybox (udhcpc) and ISC dhclient (-6) as the DHCP clients of the
# end-to-end tests. Prometheus (and its promtool) for the alerting rules and the dashboard's queries.
DEBIAN_PACKAGES=(postgresql kea-admin kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent busybox isc-dhcp-client shellcheck python3-venv git
    pdns-server pdns-backend-sqlite3 sqlite3 bind9 bind9-dnsutils knot knot-dnsutils python3-libknot openjdk-17-jre-headless prometheus)

install_debian_packages() {
    local missing=()
    local pkg
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
        return 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_venv() {
    local stamp="$KEA_DNS_VENV/.requirements.sha256"
    local want
    want=$(cat "$KEA_DNS_ROOT/requirements.txt" "$KEA_DNS_ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi
    echo "setup: creating $KEA_DNS_VENV from requirements-dev.txt"
    rm -rf "$KEA_DNS_VENV"
    "${PYTHON:-python3}" -m venv "$KEA_DNS_VENV"
    "$KEA_DNS_VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip 2>&1 | grep -v "is ignored" || true
    "$KEA_DNS_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$KEA_DNS_ROOT/requirements-dev.txt" 2>&1 \
        | grep -v "is ignored" || true
    "$KEA_DNS_VENV/bin/python" -c "import ansible, psycopg2, hvac" # fail here if the install failed
    echo "$want" > "$stamp"
}

install_debian_packages
install_venv
export PATH="$KEA_DNS_VENV/bin:$PATH"
