import pytest

from academy_common.settings import ServiceSettings, load_settings, parse_tokens


def test_tokens_map_token_to_role():
    assert parse_tokens("admin=a1, billing=b1,viewer=v1,admin=a2") == {
        "a1": "admin", "b1": "billing", "v1": "viewer", "a2": "admin"}


@pytest.mark.parametrize("raw", ["admin", "root=x", "admin="])
def test_bad_tokens_are_rejected(raw):
    with pytest.raises(ValueError):
        parse_tokens(raw)


def test_defaults_follow_the_architecture(monkeypatch):
    for name in ("AMQP_URL", "DATABASE_URL", "ACADEMY_TIMEZONE", "API_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ServiceSettings)
    assert settings.bus_exchange == "academy.events"
    assert settings.academy_timezone == "UTC"
    assert settings.api_tokens == {}
    assert settings.bus_max_message_bytes == 4 * 1024 * 1024


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("API_TOKENS", "billing=secret")
    monkeypatch.setenv("ACADEMY_TIMEZONE", "Europe/Madrid")
    monkeypatch.setenv("BUS_MAX_MESSAGE_BYTES", "1048576")
    settings = load_settings(ServiceSettings)
    assert settings.api_tokens == {"secret": "billing"}
    assert settings.timezone.key == "Europe/Madrid"
    assert settings.bus_max_message_bytes == 1048576


@pytest.mark.parametrize("name,value,mentions", [
    ("ACADEMY_TIMEZONE", "Mars/Olympus", "ACADEMY_TIMEZONE"),
    ("HTTP_PORT", "eighty", "HTTP_PORT"),
    ("API_TOKENS", "superuser=x", "API_TOKENS"),
    ("BUS_MAX_MESSAGE_BYTES", "0", "BUS_MAX_MESSAGE_BYTES"),
])
def test_a_bad_value_stops_start_up_with_one_clear_line(monkeypatch, capsys, name, value, mentions):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings(ServiceSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and mentions in err and err.startswith("configuration error")
