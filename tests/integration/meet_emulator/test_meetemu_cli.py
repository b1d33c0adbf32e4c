"""``python -m meet_emulator --scenario FILE --port N`` serves a scenario file."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SCENARIO_YAML = """
people:
  - {user_id: "1001", email: ada@school.org, display_name: Ada}
spaces:
  - {name: spaces/cli, meeting_code: cli-abcd-efg}
conferences:
  - space: spaces/cli
    start: "-20m"
    participants:
      - {kind: signedin, user_id: "1001", sessions: [{join: "-19m", leave: null}]}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return json.loads(resp.read())


def test_cli_serves_a_yaml_scenario(tmp_path: Path):
    scenario = tmp_path / "class.yaml"
    scenario.write_text(SCENARIO_YAML)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "meet_emulator", "--scenario", str(scenario), "--port", str(port), "--speed", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                assert fetch(f"{base}/healthz") == {"status": "ok"}
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
                assert time.monotonic() < deadline, "emulator did not come up"
                time.sleep(0.1)
        records = fetch(f"{base}/v2/conferenceRecords?filter=space.name+%3D+%22spaces%2Fcli%22&alt=json")
        assert len(records["conferenceRecords"]) == 1
        parent = records["conferenceRecords"][0]["name"]
        participants = fetch(f"{base}/v2/{parent}/participants")
        assert participants["participants"][0]["signedinUser"]["user"] == "users/1001"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_rejects_a_bad_scenario(tmp_path: Path):
    scenario = tmp_path / "bad.json"
    scenario.write_text('{"conferences": [{"start": "whenever"}]}')
    result = subprocess.run(
        [sys.executable, "-m", "meet_emulator", "--scenario", str(scenario), "--port", str(free_port())],
        check=False,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 2 and b"conference start" in result.stderr
