"""Unit tests of the listener's options: the seed's flags, precedence, secrets (no server)."""

from __future__ import annotations

import pytest

from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon import config
from ansible_collections.ddi.kea_dns.plugins.module_utils._errors import InvalidInputError

SEED_FLAGS = ["--db-host", "db1", "--db-port", "6432", "--db-name", "kea", "--db-user", "kea", "--use-vault", "--enable-dns",
              "--dns-zone", "site.com", "--dns-scope", "external", "--use-database-events", "--poll-interval", "5", "--once",
              "--output-dir", "/srv/discovery", "--log-level", "DEBUG"]


def test_the_seed_flags_keep_their_names_and_meaning():
    options, check_only = config.load(SEED_FLAGS, environ={"VAULT_ADDR": "https://vault:8200"})
    assert not check_only
    picked = (options["db_host"], options["db_port"], options["use_vault"], options["dns_scope"], options["poll_interval"])
    assert picked == ("db1", 6432, True, "external", 5.0)
    assert options["once"] and options["use_database_events"] and options["output_dir"] == "/srv/discovery"
    assert options["provider"] == "solidserver" and options["hostname_filter"] == ["*-ilo", "*-idrac", "*-bmc"]


def test_command_line_beats_config_file_beats_environment(tmp_path):
    path = tmp_path / "config.yml"
    path.write_text("db_host: from-file\ndb_port: 5433\nhostname_filter: ['*-xcc']\n")
    environ = {"KEA_DB_HOST": "env", "KEA_DB_PORT": "1", "KEA_DB_NAME": "env-db"}
    options = config.load(["--config", str(path), "--db-host", "from-cli"], environ=environ)[0]
    assert (options["db_host"], options["db_port"], options["db_name"], options["hostname_filter"]) == ("from-cli", 5433, "env-db", ["*-xcc"])


def test_secrets_come_from_the_environment_or_systemd_credentials_never_the_file(tmp_path):
    credentials = tmp_path / "creds"
    credentials.mkdir()
    (credentials / "KEA_DB_PASSWORD").write_text("from-credential\n")
    options = config.load([], environ={"CREDENTIALS_DIRECTORY": str(credentials), "PDNS_API_KEY": "k3y"})[0]
    assert options["db_password"] == "from-credential" and options["powerdns_api_key"] == "k3y"
    path = tmp_path / "config.yml"
    path.write_text("solidserver_password: s3cret\n")
    with pytest.raises(InvalidInputError) as error:
        config.load(["--config", str(path)], environ={})
    assert "solidserver_password" in str(error.value) and "s3cret" not in str(error.value)


@pytest.mark.parametrize(("text", "field"), [("dns_zonee: x\n", "dns_zonee"), ("batch_size: 0\n", "batch_size"),
                                             ("provider: bind\n", "provider"), ("enable_dns: true\n", "dns_zone"),
                                             ("metrics_address: ':x'\n", "metrics_address"), ("- a list\n", "config"),
                                             ("events_channel: kea-events\n", "events_channel"), ("dns_timeout: 0\n", "dns_timeout")])
def test_bad_options_name_the_field(tmp_path, text, field):
    path = tmp_path / "config.yml"
    path.write_text(text)
    with pytest.raises(InvalidInputError) as error:
        config.load(["--config", str(path)], environ={})
    assert field in str(error.value)


def test_batch_size_defaults_to_what_the_backend_takes_well():
    from ansible_collections.ddi.kea_dns.plugins.module_utils._daemon.listener import Listener  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.knot import KnotBackend  # pylint: disable=import-outside-toplevel
    from ansible_collections.ddi.kea_dns.plugins.module_utils._dns.technitium import TechnitiumBackend  # pylint: disable=import-outside-toplevel

    options, _check = config.load([], environ={})
    listener = Listener(options)
    assert options["batch_size"] is None and listener.batch_size == 200  # no DNS backend: inventory files only
    for backend, rows in ((KnotBackend, 1000), (TechnitiumBackend, 200)):
        listener.sync = type("Sync", (), {"backend": backend})()
        assert listener.batch_size == rows
    listener.options["batch_size"] = 50
    assert listener.batch_size == 50
