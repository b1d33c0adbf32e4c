"""Every service's published OpenAPI document against the running service, with schemathesis.

Each operation gets a bounded number of generated requests (valid by the document, and invalid
ones), sent with an admin token: no 5xx, every answer in a status, media type, header set and
schema the document lists, invalid requests refused and valid ones not refused for reasons the
document does not state. The stateful run follows the documents' links (create, then read and
change what was created), with STATEFUL_SCENARIOS scenarios per service.
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition

from tests.badinput.stacks import openapi_path
from tests.support.services import ADMIN

EXAMPLES_PER_OPERATION = 25
SETTINGS = settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
# A schema-valid request may still be refused with 422 for a rule JSON Schema cannot state, which the
# operation's description states instead: a cursor the API never issued, `to` not after `from`, an
# unknown or inactive id named in the body, a class start in the past.
SEMANTIC_422 = {
    "listTeachers", "listFamilies", "listStudents", "listClasses", "listAttendanceLogs", "listUnmatched",
    "createStudent", "updateStudent", "scheduleClass", "updateClass", "correctAttendanceLog", "mapUnmatched",
}
ACCEPTED = ["2XX", "401", "403", "404", "409"]


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "operations": [{
            "include-operation-id": sorted(SEMANTIC_422),
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
        }],
        # The stateful run follows the links the documents declare, not links schemathesis guesses from
        # field names (those made Hypothesis replays meet a server state that had moved on, and fail as flaky).
        "phases": {"stateful": {"inference": {"algorithms": []}}},
    })


def _conformance_test(name: str):
    schema = schemathesis.openapi.from_path(openapi_path(name), config=_config())

    @schema.parametrize()
    @SETTINGS
    def test(case, live):
        case.call_and_validate(base_url=live.url(name), headers=ADMIN)

    return test


test_scheduler_conforms = _conformance_test("scheduler")
test_attendance_conforms = _conformance_test("attendance")
test_billing_conforms = _conformance_test("billing")
test_meet_fetcher_conforms = _conformance_test("meet-fetcher")


def _stateful_test(name: str):
    def test(live):
        machine = schemathesis.openapi.from_path(openapi_path(name), config=_config()).as_state_machine()
        base_url = live.url(name)

        class Machine(machine):
            def get_call_kwargs(self, case):
                return {"base_url": base_url, "headers": ADMIN}

        # Generation only, as schemathesis's own runner does; and like it, a run that Hypothesis calls
        # flaky (a replayed choice met a server whose state had moved on) is run again. A contract
        # failure is never retried: it raises at once.
        for attempt in range(STATEFUL_ATTEMPTS):
            try:
                Machine.run(settings=settings(SETTINGS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=6,
                                              phases=[Phase.generate], derandomize=False))
                return
            except FlakyStrategyDefinition:
                if attempt == STATEFUL_ATTEMPTS - 1:
                    raise

    return test


STATEFUL_SCENARIOS = 10
STATEFUL_ATTEMPTS = 5
test_scheduler_links_hold = _stateful_test("scheduler")
test_attendance_links_hold = _stateful_test("attendance")
test_billing_links_hold = _stateful_test("billing")
