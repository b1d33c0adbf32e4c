"""Field types of the HTTP request bodies: whatever passes them fits the database columns."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, Strict, StringConstraints

from academy_common.events import refuse_nul
from academy_common.http import JsonInt
from scheduler.directory import normalize_email

_CODE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def _meeting_code(value: str) -> str:
    """Meet codes are case-insensitive ("abc-defg-hij"); anything else never names a space."""
    code = value.lower()
    if not _CODE.match(code):
        raise ValueError("must look like abc-defg-hij")
    return code


# In a JSON body a number is a number: not "1" or true (which would mean family 1); 1.0 is the
# integer 1, as JSON Schema (and so the OpenAPI document) has it.
Id = Annotated[JsonInt, Field(gt=0, lt=2**63)]
Count = JsonInt
Flag = Annotated[bool, Strict()]
QueryId = Annotated[int, Field(gt=0, lt=2**63)]  # a query string is all text
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                 AfterValidator(refuse_nul)]
Email = Annotated[str, AfterValidator(normalize_email)]
MeetingCode = Annotated[str, StringConstraints(strip_whitespace=True, max_length=64),
                        AfterValidator(_meeting_code)]
