"""`python -m meet_fetcher.setup_google_oauth`: arguments, scopes and the token file (fake flow)."""
from __future__ import annotations

import json
import stat

import pytest

from academy_common.meet_api import CredentialSource
from meet_fetcher import setup_google_oauth as setup


class FakeCredentials:
    refresh_token = "1//refresh"

    def to_json(self) -> str:
        return json.dumps({"token": "ya29.x", "refresh_token": self.refresh_token, "client_id": "cid",
                           "client_secret": "secret", "token_uri": "https://oauth2.googleapis.com/token",
                           "scopes": list(setup.MEET_SCOPES)})


class FakeFlow:
    def __init__(self, client_secrets: str, scopes: list[str]):
        self.client_secrets, self.scopes, self.kwargs = client_secrets, scopes, None
        FakeFlow.last = self

    def run_local_server(self, **kwargs):
        self.kwargs = kwargs
        return FakeCredentials()


@pytest.fixture
def secrets(tmp_path):
    path = tmp_path / "client_secret.json"
    path.write_text(json.dumps({"installed": {"client_id": "cid", "client_secret": "secret"}}))
    return path


def test_meet_and_people_scopes_are_asked_and_the_token_written_private(tmp_path, secrets, capsys):
    out = tmp_path / "creds" / "token.json"
    code = setup.main(["--meet", "--people", "--client-secrets", str(secrets), "--token-out", str(out)], FakeFlow)
    assert code == 0
    assert FakeFlow.last.client_secrets == str(secrets)
    assert FakeFlow.last.scopes == [
        "https://www.googleapis.com/auth/meetings.space.created",
        "https://www.googleapis.com/auth/meetings.space.readonly",
        "https://www.googleapis.com/auth/directory.readonly"]
    assert FakeFlow.last.kwargs["open_browser"] is True and FakeFlow.last.kwargs["port"] == 0
    token = json.loads(out.read_text())
    assert token["type"] == "authorized_user" and token["refresh_token"] == "1//refresh"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert not (out.parent / "token.json.partial").exists()
    assert str(out) in capsys.readouterr().out


def test_the_written_token_is_what_the_services_load(tmp_path, secrets):
    out = tmp_path / "token.json"
    setup.main(["--meet", "--client-secrets", str(secrets), "--token-out", str(out)], FakeFlow)
    credentials = CredentialSource(out, anonymous=False).for_subject("ada@school.org")
    assert credentials.refresh_token == "1//refresh" and credentials.client_id == "cid"


def test_no_browser_prints_the_url_instead_and_meet_alone_asks_meet_scopes(tmp_path, secrets):
    setup.main(["--meet", "--no-browser", "--port", "8765", "--client-secrets", str(secrets),
                "--token-out", str(tmp_path / "t.json")], FakeFlow)
    assert FakeFlow.last.kwargs["open_browser"] is False and FakeFlow.last.kwargs["port"] == 8765
    assert "{url}" in FakeFlow.last.kwargs["authorization_prompt_message"]
    assert FakeFlow.last.scopes == list(setup.MEET_SCOPES)


def test_an_existing_token_is_replaced(tmp_path, secrets):
    out = tmp_path / "token.json"
    out.write_text("old")
    setup.main(["--people", "--client-secrets", str(secrets), "--token-out", str(out)], FakeFlow)
    assert json.loads(out.read_text())["token"] == "ya29.x"


@pytest.mark.parametrize("argv,complaint", [
    (["--client-secrets", "{secrets}", "--token-out", "t.json"], "--meet and/or --people"),
    (["--meet", "--token-out", "t.json"], "--client-secrets"),
    (["--meet", "--client-secrets", "{secrets}"], "--token-out"),
    (["--meet", "--client-secrets", "/nowhere/secret.json", "--token-out", "t.json"], "is not a file"),
])
def test_bad_arguments_stop_before_any_flow_runs(argv, complaint, secrets, capsys):
    FakeFlow.last = None
    with pytest.raises(SystemExit) as stopped:
        setup.main([a.replace("{secrets}", str(secrets)) for a in argv], FakeFlow)
    assert stopped.value.code == 2
    assert complaint in capsys.readouterr().err
    assert FakeFlow.last is None
