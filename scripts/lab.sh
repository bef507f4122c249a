#!/usr/bin/env bash
# The collection's main job on local defaults: bash scripts/lab.sh
# Starts a throwaway PostgreSQL with Kea's schema, runs playbooks/lab.yml (kea_reservation and
# kea_reservation_info), shows the rows Kea will serve, and stops everything it started.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
cd "$KEA_DNS_ROOT"
exec python -m scripts.lab "$@"
