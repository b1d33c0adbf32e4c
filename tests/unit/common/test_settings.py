import pytest
from pydantic import ValidationError

from academy_common.settings import Principal, ServiceSettings, load_settings, parse_tokens

DAY_S = 86400.0
A1, A2, B1, V1 = "admin-token-0001", "admin-token-0002", "billing-token-01", "viewer-token-001"


def test_tokens_map_token_to_role_and_name():
    assert parse_tokens(f"admin={A1}, billing={B1},viewer={V1},admin:alice={A2}") == {
        A1: Principal("admin"), B1: Principal("billing"), V1: Principal("viewer"), A2: Principal("admin", "alice")}


@pytest.mark.parametrize("principal,actor", [
    (Principal("admin"), "admin"),
    (Principal("admin", "alice"), "admin:alice"),
    (Principal("billing", "payroll-bot@ops.example"), "billing:payroll-bot@ops.example"),
])
def test_audit_rows_name_the_actor(principal, actor):
    assert principal.actor == actor


def test_a_dict_is_checked_like_the_text():
    assert parse_tokens({A1: "admin:alice", B1: Principal("billing")}) == {
        A1: Principal("admin", "alice"), B1: Principal("billing")}
    with pytest.raises(ValueError, match="shorter than 16"):
        parse_tokens({"short": "admin"})


@pytest.mark.parametrize("raw,says", [
    ("admin", "item 1 is not role=token"),
    (f"admin={A1},{B1}", "item 2 is not role=token"),
    ("admin=", "item 1 is not role=token"),
    (f"root={A1}", "item 1: the role is not one of admin, billing, viewer"),
    (f"admin:={A1}", "item 1: a name is"),
    (f"admin:al ice={A1}", "item 1: a name is"),
    (f"admin:{'n' * 65}={A1}", "item 1: a name is"),
    ("viewer=" + "x" * 15, "item 1: the token is shorter than 16 characters"),
    (f"admin={A1},viewer={A1}", "items 1 and 2 carry the same token"),
    (f"admin={A1},billing={B1},admin:alice={A1}", "items 1 and 3 carry the same token"),
])
def test_bad_tokens_are_refused_without_repeating_them(raw, says):
    with pytest.raises(ValueError) as refused:
        parse_tokens(raw)
    message = str(refused.value)
    assert says in message
    for secret in (A1, B1, "x" * 15, "al ice", "root"):
        assert secret not in message


@pytest.mark.parametrize("length,accepted", [(15, False), (16, True), (64, True)])
def test_the_minimum_token_length_is_16(length, accepted):
    raw = "viewer=" + "t" * length
    if accepted:
        assert parse_tokens(raw) == {"t" * length: Principal("viewer")}
    else:
        with pytest.raises(ValueError):
            parse_tokens(raw)


def test_a_bad_token_item_is_not_echoed_at_start_up(monkeypatch, capsys):
    monkeypatch.setenv("API_TOKENS", f"admin={A1},{B1}-oops")
    with pytest.raises(SystemExit):
        load_settings(ServiceSettings)
    err = capsys.readouterr().err
    assert "API_TOKENS item 2" in err and A1 not in err and B1 not in err


def test_settings_errors_never_carry_the_input(monkeypatch):
    monkeypatch.setenv("API_TOKENS", f"admin={A1},superuser={B1}")
    with pytest.raises(ValidationError) as refused:
        ServiceSettings()
    assert A1 not in str(refused.value) and B1 not in str(refused.value)


def test_defaults_follow_the_architecture(monkeypatch):
    for name in ("AMQP_URL", "DATABASE_URL", "ACADEMY_TIMEZONE", "API_TOKENS"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(ServiceSettings)
    assert settings.bus_exchange == "academy.events"
    assert settings.academy_timezone == "UTC"
    assert settings.api_tokens == {}
    assert settings.bus_max_message_bytes == 4 * 1024 * 1024


def test_environment_is_read(monkeypatch):
    monkeypatch.setenv("API_TOKENS", f"billing={B1}")
    monkeypatch.setenv("ACADEMY_TIMEZONE", "Europe/Madrid")
    monkeypatch.setenv("BUS_MAX_MESSAGE_BYTES", "1048576")
    settings = load_settings(ServiceSettings)
    assert settings.api_tokens == {B1: Principal("billing")}
    assert settings.timezone.key == "Europe/Madrid"
    assert settings.bus_max_message_bytes == 1048576


@pytest.mark.parametrize("name,value,mentions", [
    ("ACADEMY_TIMEZONE", "Mars/Olympus", "ACADEMY_TIMEZONE"),
    ("HTTP_PORT", "eighty", "HTTP_PORT"),
    ("API_TOKENS", f"superuser={A1}", "API_TOKENS"),
    ("BUS_MAX_MESSAGE_BYTES", "0", "BUS_MAX_MESSAGE_BYTES"),
])
def test_a_bad_value_stops_start_up_with_one_clear_line(monkeypatch, capsys, name, value, mentions):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        load_settings(ServiceSettings)
    assert stopped.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and mentions in err and err.startswith("configuration error")


@pytest.mark.parametrize("overrides,refused", [
    ({}, False),
    ({"processed_events_retention_s": DAY_S}, False),
    ({"processed_events_retention_s": DAY_S - 1}, True),
    ({"consumer_outage_window_s": 7 * DAY_S, "processed_events_retention_s": 28 * DAY_S}, True),
    ({"consumer_outage_window_s": 7 * DAY_S, "processed_events_retention_s": 29 * DAY_S}, False),
])
def test_a_retention_shorter_than_a_late_redelivery_is_refused(overrides, refused):
    if refused:
        with pytest.raises(ValidationError, match="PROCESSED_EVENTS_RETENTION_S must be at least"):
            ServiceSettings(**overrides)
    else:
        assert ServiceSettings(**overrides).processed_events_retention_s >= DAY_S
