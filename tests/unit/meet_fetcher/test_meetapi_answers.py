"""academy_common.meet_api without a network: answer validation, error kinds, settings, credentials."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth.credentials import AnonymousCredentials
from hypothesis import given
from hypothesis import strategies as st

from academy_common.meet_api import (
    ConferenceRecord,
    CredentialSource,
    MeetApiError,
    MeetApiSettings,
    MeetClient,
    Participant,
    format_timestamp,
    kind_of_status,
    parse_answer,
    parse_timestamp,
)
from meet_fetcher.settings import Settings


class TestTimestamps:
    @pytest.mark.parametrize("text,expected", [
        ("2026-03-02T10:00:00Z", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
        ("2026-03-02T10:00:00.5Z", datetime(2026, 3, 2, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2026-03-02T10:00:00.123456789Z", datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-02T12:00:00.000000001+02:00", datetime(2026, 3, 2, 10, 0, tzinfo=UTC)),
    ])
    def test_rfc3339_with_up_to_nine_digits_becomes_utc(self, text, expected):
        parsed = parse_timestamp(text)
        assert parsed == expected and parsed.utcoffset() == timedelta(0)

    @pytest.mark.parametrize("text", ["2026-03-02T10:00:00", "2026-03-02 10:00:00Z", "1700000000", 1700000000,
                                      "2026-03-02T10:00:00.1234567890Z", "", None, "2026-13-02T10:00:00Z"])
    def test_anything_else_is_refused(self, text):
        with pytest.raises(ValueError):
            parse_timestamp(text)

    @given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
    def test_what_the_filters_send_reads_back_the_same(self, moment):
        assert parse_timestamp(format_timestamp(moment)) == moment


class TestAnswers:
    def test_a_participant_keeps_one_identity_flattened(self):
        p = parse_answer(Participant, {"name": "conferenceRecords/c/participants/1",
                                       "signedinUser": {"user": "users/9", "displayName": "Ada"},
                                       "earliestStartTime": "2026-03-02T10:00:00Z", "unknownNewField": 1})
        assert (p.kind, p.user, p.display_name, p.latest_end_time) == ("signedin", "users/9", "Ada", None)
        phone = parse_answer(Participant, {"name": "conferenceRecords/c/participants/2", "phoneUser": {},
                                           "earliestStartTime": "2026-03-02T10:00:00Z"})
        assert (phone.kind, phone.user, phone.display_name) == ("phone", None, None)

    @pytest.mark.parametrize("body,complaint", [
        ({"name": "conferenceRecords/c", "space": "spaces/s"}, "startTime"),
        ({"name": "conferenceRecords/c", "startTime": "2026-03-02T10:00:00Z"}, "space"),
        ({"name": "conferenceRecords/c/x", "startTime": "2026-03-02T10:00:00Z", "space": "spaces/s"}, "name"),
        ({"name": "conferenceRecords/c", "startTime": "yesterday", "space": "spaces/s"}, "startTime"),
        ("a string", "not a JSON object"),
    ])
    def test_a_record_missing_or_mangling_a_field_is_malformed(self, body, complaint):
        with pytest.raises(MeetApiError) as broken:
            parse_answer(ConferenceRecord, body)
        assert broken.value.kind == "malformed" and broken.value.status is None and not broken.value.retryable
        assert complaint in str(broken.value)


@pytest.mark.parametrize("status,kind,retryable", [
    (429, "quota", True), (500, "server", True), (503, "server", True), (408, "server", True),
    (404, "not_found", False), (401, "auth", False), (403, "auth", False), (400, "client", False),
    (409, "client", False),
])
def test_http_statuses_map_to_kinds_that_say_whether_to_retry(status, kind, retryable):
    assert kind_of_status(status) == kind
    error = MeetApiError(kind, status, "m")
    assert error.retryable is retryable and error.as_dict() == {"kind": kind, "status": status, "message": "m"}


def test_settings_read_the_documented_variables(monkeypatch):
    monkeypatch.setenv("MEET_API_ENDPOINT", "http://127.0.0.1:8090/")
    monkeypatch.setenv("PEOPLE_API_ENDPOINT", "")
    monkeypatch.setenv("GOOGLE_CREDENTIALS_FILE", "/secrets/token.json")
    monkeypatch.setenv("MEET_READS_PER_MINUTE", "3000")
    monkeypatch.setenv("MEET_READS_PER_USER_PER_MINUTE", "300")
    monkeypatch.setenv("FETCH_CONCURRENCY", "128")
    monkeypatch.setenv("MEET_API_RETRY_BUDGET_S", "12.5")
    settings = Settings()
    assert settings.meet_api_endpoint == "http://127.0.0.1:8090/" and settings.people_api_endpoint is None
    assert str(settings.google_credentials_file) == "/secrets/token.json"
    assert (settings.meet_reads_per_minute, settings.meet_reads_per_user_per_minute) == (3000, 300)
    assert settings.fetch_concurrency == 128 and settings.meet_retry.budget_s == 12.5
    assert settings.http_port == 8084 and Settings.model_fields["meet_reads_per_minute"].default == 6000
    assert MeetApiSettings().meet_api_endpoint == "http://127.0.0.1:8090/"


class TestCredentials:
    def test_anonymous_against_an_emulator(self):
        source = CredentialSource(None, anonymous=True)
        assert isinstance(source.for_subject("ada@school.org"), AnonymousCredentials)
        assert source.principal("ada@school.org") == "default"
        assert isinstance(MeetClient(meet_endpoint="http://x/").credentials.for_subject(None), AnonymousCredentials)

    def test_a_service_account_impersonates_each_organizer_once(self, tmp_path):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
        path = tmp_path / "sa.json"
        path.write_text(json.dumps({"type": "service_account", "client_email": "fetcher@p.iam.gserviceaccount.com",
                                    "private_key": pem, "private_key_id": "k1", "project_id": "p",
                                    "token_uri": "https://oauth2.googleapis.com/token"}))
        source = CredentialSource(path, anonymous=False)
        ada = source.for_subject("ada@school.org")
        assert ada is source.for_subject("ada@school.org") and ada is not source.for_subject("bo@school.org")
        assert ada._subject == "ada@school.org"
        assert "https://www.googleapis.com/auth/meetings.space.readonly" in ada.scopes
        assert source.principal("ada@school.org") == "ada@school.org" and source.principal(None) == "default"

    @pytest.mark.parametrize("content", ['{"type": "external_account"}', "not json", "[]", '{"type": "authorized_user"}'])
    def test_an_unusable_credentials_file_is_an_auth_error(self, tmp_path, content):
        path = tmp_path / "creds.json"
        path.write_text(content)
        with pytest.raises(MeetApiError) as failed:
            CredentialSource(path, anonymous=False).for_subject(None)
        assert failed.value.kind == "auth" and not failed.value.retryable

    def test_a_missing_credentials_file_is_an_auth_error(self, tmp_path):
        with pytest.raises(MeetApiError) as failed:
            CredentialSource(tmp_path / "absent.json", anonymous=True).for_subject(None)
        assert failed.value.kind == "auth"
