"""Adjustments: how a line whose month is closed gets corrected without touching that bill.

A closed month's bill never changes. What the line should cost now (late data, a corrected
log, a fixed rate, a cancelled or moved class, a removed log, another family) is compared
with everything closed months already charged for it; the difference is charged in the
first open month after the month it refers to. Once that month closes, the difference is
part of what was charged, so it is never carried twice.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from billing.months import Month, first_open_after
from billing.rates import Party
from billing.statements import Line


@dataclass(frozen=True)
class Current:
    """A line as the projection has it now (one student or teacher in one class)."""

    party: Party
    party_id: int
    class_id: int
    person_key: str
    class_title: str | None
    scheduled_start: datetime
    month: Month  # of scheduled_start, in the academy's time zone
    student_id: int | None
    student_name: str | None
    cancelled: bool
    removed: bool  # attendance vacated the log: owed nothing, like a cancelled class
    billable_seconds: int
    billed_seconds: int
    rule: str
    rule_detail: str
    hourly_rate_cents: int | None
    currency: str | None
    amount_cents: int | None
    final: bool
    corrected: bool
    billable_override: bool = False
    correction_reason: str | None = None

    @property
    def counted(self) -> bool:
        """The line bills at all (as the `counted` column says): not cancelled nor removed, or a
        late cancellation charge."""
        return self.rule == "late_cancel" or not (self.cancelled or self.removed)


@dataclass(frozen=True)
class Billed:
    """What one closed month charged for the line (its original line or an adjustment)."""

    party_id: int
    currency: str
    billable_seconds: int
    billed_seconds: int
    amount_cents: int
    origin: Month  # the month the charge is about


@dataclass(frozen=True)
class Reconciliation:
    target: Month  # where the adjustments belong (the first open month after `reference`)
    adjustments: tuple[tuple[int, Line], ...]  # (party_id, adjustment line)


def reconcile(current: Current, billed: list[Billed], closed: frozenset[Month]) -> Reconciliation:
    reference = min((b.origin for b in billed), default=current.month)
    target = first_open_after(reference, closed)
    # An open month bills the line itself; only a closed month's share needs an adjustment.
    owed: dict[tuple[int, str | None], tuple[int, int, int | None]] = {}
    if current.counted and current.month in closed:
        owed[(current.party_id, current.currency)] = (current.billable_seconds, current.billed_seconds,
                                                      current.amount_cents)
    charged: dict[tuple[int, str | None], list[int]] = defaultdict(lambda: [0, 0, 0])
    for b in billed:
        was = charged[(b.party_id, b.currency)]
        was[0] += b.billable_seconds
        was[1] += b.billed_seconds
        was[2] += b.amount_cents
    adjustments = []
    for key in sorted(owed.keys() | charged.keys(), key=lambda k: (k[0], k[1] or "")):
        seconds, billed_seconds, amount = owed.get(key, (0, 0, 0))
        was_seconds, was_billed, was_amount = charged.get(key, (0, 0, 0))
        if amount is not None and (seconds, billed_seconds, amount) == (was_seconds, was_billed, was_amount):
            continue
        party_id, currency = key
        rate = current.hourly_rate_cents if key in owed else None
        adjustments.append((party_id, _line(current, reference, currency, rate, seconds - was_seconds,
                                            billed_seconds - was_billed,
                                            None if amount is None else amount - was_amount)))
    return Reconciliation(target, tuple(adjustments))


def _line(current: Current, reference: Month, currency: str | None, rate: int | None,
          seconds: int, billed_seconds: int, amount: int | None) -> Line:
    return Line(
        kind="adjustment",
        class_id=current.class_id,
        class_title=current.class_title,
        scheduled_start=current.scheduled_start,
        student_id=current.student_id,
        student_name=current.student_name,
        billable_seconds=seconds,
        billed_seconds=billed_seconds,
        rule=current.rule,
        rule_detail=current.rule_detail,
        hourly_rate_cents=rate,
        currency=currency,
        amount_cents=amount,
        provisional=not current.final,
        corrected=current.corrected,
        billable_override=current.billable_override,
        correction_reason=current.correction_reason,
        reference_period=reference,
    )
