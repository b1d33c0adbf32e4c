"""What billing adds to the contracts it consumes (academy_common.contracts): the years it bills.

Unknown fields are ignored (producers may add fields); a payload that does not validate, or
falls outside those years, is poison and goes to the dead-letter queue unchanged.
"""
from __future__ import annotations

from datetime import datetime

from academy_common.bus import PermanentError
from billing.months import MAX_YEAR, MIN_YEAR


def in_billable_years(*moments: datetime | None) -> None:
    for moment in moments:
        if moment is not None and not MIN_YEAR + 1 <= moment.year <= MAX_YEAR - 1:
            raise PermanentError(f"{moment.isoformat()} is outside the years billing handles "
                                 f"({MIN_YEAR + 1}-{MAX_YEAR - 1})")
