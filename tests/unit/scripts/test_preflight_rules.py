"""The pre-flight's pure rules: what counts as a bad variable, and how a problem reads."""
from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

from scripts import preflight
from scripts.demo import GAP, first_free, repairs
from scripts.report import for_class
from scripts.reset import refusal
from scripts.run_system import plan, tokens


def test_a_recent_python_passes_and_an_old_one_names_the_fix():
    assert preflight.python_problem((3, 11, 4)) is None
    assert preflight.python_problem((3, 13, 0)) is None
    problem = preflight.python_problem((3, 9, 18))
    assert problem.startswith("Python 3.9.18 is too old: 3.11 or newer") and "PYTHON=" in problem


def test_ports_default_and_move_with_their_variable():
    ports, problems = preflight.port_settings({"ATTENDANCE_PORT": "9182"})
    assert problems == []
    assert ports == {"meet-emulator": 8090, "scheduler": 8081, "attendance": 9182, "billing": 8083,
                     "meet-fetcher": 8084, "console": 8080}


def test_a_port_variable_that_is_no_port_is_one_line_without_its_value():
    _, problems = preflight.port_settings({"BILLING_PORT": "eighty", "SCHEDULER_PORT": "70000"})
    assert problems == ["SCHEDULER_PORT is not a port number (1-65535)", "BILLING_PORT is not a port number (1-65535)"]


def test_two_services_on_one_port_are_reported():
    _, problems = preflight.port_settings({"BILLING_PORT": "8081"})
    assert problems == ["SCHEDULER_PORT and BILLING_PORT are both 8081: give each its own port"]


def test_the_port_message_names_port_service_owner_and_variable():
    assert preflight.port_message("attendance", 8082, "pid 42 (nc)") == (
        "port 8082 (attendance) is taken by pid 42 (nc): stop it, or set ATTENDANCE_PORT to a free port")
    assert preflight.port_message("meet-emulator", 8090, None) == (
        "port 8090 (meet-emulator) is taken: stop it, or set MEET_EMULATOR_PORT to a free port")


def test_a_listening_socket_is_found_with_its_process():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert preflight.port_taken("127.0.0.1", port)
        problems = preflight.port_problems("127.0.0.1", {"billing": port})
    assert len(problems) == 1 and problems[0].startswith(f"port {port} (billing) is taken by pid ")
    assert not preflight.port_taken("127.0.0.1", port)


def test_bad_settings_are_one_line_each_naming_the_variable_not_the_value():
    secret = "admin=tiny-secret"
    problems = preflight.settings_problems({"API_TOKENS": secret, "TICK_INTERVAL_S": "-1",
                                            "LOG_FORMAT": "fancy"})
    assert len(problems) == 3, problems
    assert {p.split(":")[0] for p in problems} == {"API_TOKENS", "TICK_INTERVAL_S", "LOG_FORMAT"}
    assert all("tiny-secret" not in p for p in problems)
    assert preflight.settings_problems({}) == []


def test_the_run_plan_takes_fresh_tokens_unless_api_tokens_is_set():
    first, second = tokens({}), tokens({})
    assert first != second and first[1] in first[0]
    mine = "admin:me=aaaaaaaaaaaaaaaaaaaa,viewer=bbbbbbbbbbbbbbbbbbbb"
    assert tokens({"API_TOKENS": mine}) == (mine, "aaaaaaaaaaaaaaaaaaaa")


def test_the_run_plan_refuses_tokens_without_an_admin_and_keeps_the_users_pacing():
    run, problems = plan({"API_TOKENS": "viewer=bbbbbbbbbbbbbbbbbbbb", "FETCH_INTERVAL_S": "30"})
    assert problems == ["API_TOKENS has no admin token, which the demo academy needs: add admin=<token>"]
    assert "FETCH_INTERVAL_S" not in run.env and run.env["TICK_INTERVAL_S"] == "1"
    assert run.amqp_url.endswith("/academy"), "development has a vhost of its own, which reset may drop"


def test_a_found_record_is_reactivated_and_restored_field_by_field():
    wanted = {"name": "Ada Lovelace", "email": "ada@demo-academy.org"}
    assert repairs({**wanted, "id": 1, "active": True}, wanted) == {}
    assert repairs({"name": "Ada L.", "email": "ADA@demo-academy.org", "active": False}, wanted) == {
        "name": "Ada Lovelace", "active": True}
    assert repairs({"name": "Mary", "email": "m@x", "active": True, "family_id": 3},
                   {"name": "Mary", "email": "m@x", "family_id": 2}) == {"family_id": 2}


def test_the_demo_bills_are_the_demo_class_lines_with_their_own_totals():
    statements = [{"name": "Byron family", "lines": [
        {"class_id": 7, "amount_cents": 45, "billable_seconds": 54, "currency": "EUR"},
        {"class_id": 8, "amount_cents": 90, "billable_seconds": 108, "currency": "EUR"},
        {"class_id": 8, "amount_cents": None, "billable_seconds": 0, "currency": None, "error": "no rate"}]},
        {"name": "Other family", "lines": [{"class_id": 7, "amount_cents": 1, "currency": "EUR"}]}]
    cut = for_class(statements, 8)
    assert [s["name"] for s in cut] == ["Byron family"]
    assert cut[0]["totals"] == [{"currency": "EUR", "amount_cents": 90, "billable_seconds": 108}]
    assert len(cut[0]["lines"]) == 2


def test_reset_deletes_only_local_development_state():
    db, amqp = "postgresql://postgres@127.0.0.1:5432/academy", "amqp://guest:guest@127.0.0.1:5672/academy"
    assert refusal(db, amqp) is None
    assert "default vhost" in refusal(db, "amqp://guest:guest@127.0.0.1:5672/")
    assert "PostgreSQL's own" in refusal("postgresql://postgres@127.0.0.1:5432/postgres", amqp)
    assert "not on this machine" in refusal("postgresql://u@db.example:5432/academy", amqp)


def test_the_demo_class_starts_at_the_first_gap_in_the_teachers_day():
    t0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    minute = timedelta(minutes=1)
    assert first_free(t0, 2 * minute, []) == t0
    assert first_free(t0, 2 * minute, [(t0 + 10 * minute, t0 + 20 * minute)]) == t0, "later classes stay clear"
    running = (t0 - minute, t0 + minute)
    after = t0 + minute + GAP
    assert first_free(t0, 2 * minute, [running]) == after
    assert first_free(t0, 2 * minute, [(after + minute, after + 3 * minute), running]) == after + 3 * minute + GAP
