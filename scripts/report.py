"""Plain-text tables of attendance logs and statements for `make demo`."""
from __future__ import annotations


def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [[str(c) for c in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def hms(seconds: int | None) -> str:
    if seconds is None:
        return ""
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def money(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:,.2f}" if isinstance(cents, int) else str(cents)


def print_logs(logs: list[dict]) -> None:
    print("\nAttendance logs")
    print(table(
        ["who", "role", "status", "joins", "first join", "last leave", "attended", "billable", "final"],
        [[log.get("display_name") or log.get("email"), log.get("role"), log.get("status"), log.get("joins"),
          (log.get("first_join") or "")[11:19], (log.get("last_leave") or "")[11:19],
          hms(log.get("attended_seconds")), hms(log.get("billable_seconds")), log.get("final")]
         for log in sorted(logs, key=lambda l: (l.get("role") != "teacher", l.get("role") == "guest",
                                                 str(l.get("display_name"))))],
    ))


def print_statements(title: str, report: dict, key: str) -> None:
    print(f"\n{title} {report.get('period', '')} ({report.get('timezone', '')}, {report.get('status', '')})")
    rows = []
    for statement in report.get(key, []):
        who = statement.get("name")
        for line in statement.get("lines", []):
            rows.append([who, line.get("student_name") or "", line.get("class_title"),
                         hms(line.get("billable_seconds")), hms(line.get("billed_seconds")), line.get("rule") or "",
                         money(line.get("hourly_rate_cents")),
                         money(line.get("amount_cents")),
                         line.get("error") or ("provisional" if line.get("provisional") else "")])
            who = ""
        for total in statement.get("totals", []):
            rows.append(["", "", f"total {total.get('currency', '')}", hms(total.get("billable_seconds")),
                         hms(total.get("billed_seconds")), "", "", money(total.get("amount_cents")), ""])
    headers = ["for", "student", "class", "measured", "billed", "rule", "rate/h", "amount", ""]
    if key == "teachers":  # payroll lines are the teacher's own
        headers, rows = headers[:1] + headers[2:], [row[:1] + row[2:] for row in rows]
    print(table(headers, rows))


def for_class(statements: list[dict], class_id: int) -> list[dict]:
    """The statements cut down to one class's lines, with their totals recomputed: what the
    demo prints, the same on every run whatever else the month holds."""
    cut = []
    for statement in statements:
        lines = [line for line in statement.get("lines", []) if line.get("class_id") == class_id]
        if not lines:
            continue
        totals: dict[str, dict] = {}
        for line in lines:
            if line.get("amount_cents") is None:
                continue
            total = totals.setdefault(line.get("currency") or "", {"currency": line.get("currency"),
                                                                   "amount_cents": 0, "billable_seconds": 0,
                                                                   "billed_seconds": 0})
            total["amount_cents"] += line["amount_cents"]
            total["billable_seconds"] += line.get("billable_seconds") or 0
            total["billed_seconds"] += line.get("billed_seconds") or 0
        cut.append({**statement, "lines": lines, "totals": list(totals.values())})
    return cut
