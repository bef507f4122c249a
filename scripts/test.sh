#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: bash scripts/test.sh
# Installs what it needs (scripts/setup.sh), copies the collection to
# <cache>/ansible_collections/ddi/kea_dns (ansible-test needs that layout), then runs
# ruff, ansible-test sanity, the unit tests, the integration tests against real servers,
# each role's Molecule scenario, ansible-lint (production profile) and antsibull-changelog lint.
# Every server a test starts is stopped by the test's fixtures.
set -euo pipefail
# shellcheck source=scripts/setup.sh
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

COLLECTIONS_DIR=${KEA_DNS_COLLECTIONS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ddi.kea_dns/collections}
COLLECTION="$COLLECTIONS_DIR/ansible_collections/ddi/kea_dns"
export ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_DIR"

copy_collection() {
    # Tracked and new (not ignored) files of the work tree; tests/output is kept as a cache.
    mkdir -p "$COLLECTION"
    find "$COLLECTION" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
    find "$COLLECTION/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} + 2>/dev/null || true
    (cd "$KEA_DNS_ROOT" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf -) | tar -xf - -C "$COLLECTION"
}

ansible_test_pip_shim() {
    # ansible-test downloads a get-pip bootstrap from the internet; give it the local stand-in.
    local cache="$HOME/.ansible/test/cache"
    mkdir -p "$cache"
    local pip_version
    pip_version=$(python - <<'PY'
import re, ansible_test._internal.python_requirements as r
print(re.search(r"pip='([0-9.]+)'", open(r.__file__).read()).group(1))
PY
)
    cp "$KEA_DNS_ROOT/scripts/get_pip_shim.py" "$cache/get_pip_${pip_version//./_}.py"
}

molecule_every_role() {
    # roles/<role>/molecule/default: create (throwaway servers), converge, idempotence, verify, destroy (also after a
    # failure). A role without a scenario fails the stage.
    local role dir start status=0
    for dir in roles/*/; do
        dir=${dir%/}
        role=$(basename "$dir")
        start=$SECONDS
        if [ ! -f "$dir/molecule/default/molecule.yml" ]; then
            echo "--- molecule $role: FAILED (no scenario roles/$role/molecule/default)"
            status=1
        elif (cd "$dir" && NO_COLOR=1 ANSIBLE_NOCOLOR=1 molecule test --destroy=always); then
            echo "--- molecule $role: ok ($((SECONDS - start)) s)"
        else
            echo "--- molecule $role: FAILED ($((SECONDS - start)) s)"
            status=1
        fi
    done
    return "$status"
}

passed=0
failed=0
failed_stages=()
stage() {
    local name=$1
    shift
    echo
    echo "=== $name"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1))
        echo "=== $name: ok ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failed_stages+=("$name")
        echo "=== $name: FAILED ($((SECONDS - start)) s)"
    fi
}

copy_collection
ansible_test_pip_shim
cd "$COLLECTION"

stage "ruff" ruff check --no-cache plugins extensions tests benchmarks scripts
stage "ansible-test sanity" ansible-test sanity --venv --python 3.11 --color no
stage "unit tests (ansible-test units)" ansible-test units --venv --python 3.11 --requirements --color no
# Two worker processes, each test file on one of them (its module fixtures made once); each has its own servers.
stage "integration tests (pytest, real servers)" python -m pytest -p no:cacheprovider -q -n 2 --dist loadfile --durations=25 tests/integration
stage "molecule (every role)" molecule_every_role
stage "ansible-lint (production profile)" ansible-lint --offline -q
stage "antsibull-changelog lint" antsibull-changelog lint

echo
if [ "$failed" -ne 0 ]; then
    echo "failed stages: ${failed_stages[*]}"
fi
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
