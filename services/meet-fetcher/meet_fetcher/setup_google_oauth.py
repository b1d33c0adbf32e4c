"""Write the OAuth user token file GOOGLE_CREDENTIALS_FILE points at (installed-app flow).

    python -m meet_fetcher.setup_google_oauth --meet [--people] \\
        --client-secrets client_secret.json --token-out token.json [--no-browser] [--port 8765]

Sign in as the account that organizes the classes (list calls only show its conferences).
The token carries a refresh token: the services refresh the access token by themselves.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from academy_common.meet_api import MEET_SCOPES, PEOPLE_SCOPES


class Flow(Protocol):
    def run_local_server(self, **kwargs: Any) -> Any: ...


FlowFactory = Callable[[str, list[str]], Flow]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m meet_fetcher.setup_google_oauth",
                                     description="Authorize the academy for the Google Meet (and People) APIs.")
    parser.add_argument("--meet", action="store_true", help="Meet scopes: meetings.space.created, .readonly")
    parser.add_argument("--people", action="store_true", help="People scope directory.readonly (emails)")
    parser.add_argument("--client-secrets", required=True, type=Path,
                        help="OAuth client (type Desktop app) JSON from the Google Cloud console")
    parser.add_argument("--token-out", required=True, type=Path, help="where to write the token (mode 0600)")
    parser.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    parser.add_argument("--port", type=int, default=0, help="local redirect port (0: any free port)")
    args = parser.parse_args(argv)
    if not (args.meet or args.people):
        parser.error("choose --meet and/or --people")
    if not args.client_secrets.is_file():
        parser.error(f"--client-secrets {args.client_secrets} is not a file")
    return args


def scopes(meet: bool, people: bool) -> list[str]:
    return [*(MEET_SCOPES if meet else ()), *(PEOPLE_SCOPES if people else ())]


def token_json(credentials: Any) -> str:
    """Credentials.to_json() plus the `type` Google's own loaders expect for user tokens."""
    return json.dumps({"type": "authorized_user", **json.loads(credentials.to_json())}, indent=2)


def write_token(path: Path, text: str) -> None:
    """Readable by the owner only, replaced atomically (a half-written token is never seen)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.replace(partial, path)


def installed_app_flow(client_secrets: str, wanted: list[str]) -> Flow:
    from google_auth_oauthlib.flow import InstalledAppFlow

    return InstalledAppFlow.from_client_secrets_file(client_secrets, scopes=wanted)


def main(argv: list[str] | None = None, flow_factory: FlowFactory = installed_app_flow) -> int:
    args = parse_args(argv)
    wanted = scopes(args.meet, args.people)
    flow = flow_factory(str(args.client_secrets), wanted)
    credentials = flow.run_local_server(
        port=args.port, open_browser=not args.no_browser,
        authorization_prompt_message="Open this URL in a browser and sign in as the organizer:\n{url}",
        success_message="Authorized; you may close this window.",
    )
    if not getattr(credentials, "refresh_token", None):
        print("warning: no refresh token came back; revoke the app's access and run this again",
              file=sys.stderr)
    write_token(args.token_out, token_json(credentials))
    print(f"token written to {args.token_out} (scopes: {' '.join(wanted)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
