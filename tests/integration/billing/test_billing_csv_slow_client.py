"""A CSV export holds no pooled connection while its client reads slowly, and arrives whole."""
from __future__ import annotations

import asyncio
import socket

import pytest

from academy_common.events import new_event, rfc3339
from tests.integration.billing.billing_support import CSV, MARCH, klass, log_data
from tests.support.waiting import eventually

PATH = "/monitoring/billing/families?year=2025&month=3"
CLASSES, STUDENTS = 8, 1000  # the most students a class snapshot may carry
LINES = CLASSES * STUDENTS
# ~1.1 KB in every line row (a title at its 1000-character limit): the month's CSV (~9 MB) is far
# more than loopback buffers between a paused client and the server (a 4 MiB send buffer at
# most, and the client's small window), so a server that streams straight from the database is
# still writing, connection in hand.
TITLE = ("A long class title " * 53)[:1000]


class SlowClient:
    """A raw HTTP/1.1 GET with a small receive window that reads its body only when told."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: bytes):
        self.reader, self.writer, self.head = reader, writer, head.decode("latin-1")

    @classmethod
    async def start(cls, port: int, path: str) -> SlowClient:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)  # before connect: the window
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        headers = CSV | {"Host": f"127.0.0.1:{port}", "Connection": "close"}
        writer.write((f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                      + "\r\n").encode())
        return cls(reader, writer, await reader.readuntil(b"\r\n\r\n"))

    def header(self, name: str) -> str:
        lines = self.head.split("\r\n")[1:]
        return next(line.split(":", 1)[1].strip() for line in lines if line.lower().startswith(name.lower() + ":"))

    async def body(self) -> bytes:
        try:
            return await self.reader.readexactly(int(self.header("Content-Length")))
        finally:
            self.writer.close()
            await self.writer.wait_closed()


async def a_big_month(feed) -> None:
    students = tuple((s, 1000 + s) for s in range(1, STUDENTS + 1))  # one family each
    for class_id in range(10, 10 + CLASSES):
        logs = [log_data(class_id, MARCH, student_id=s, family_id=f) for s, f in students]
        await feed(klass(class_id, MARCH, title=TITLE, students=students),
                   new_event("attendance.class.finalized", {"class_id": class_id, "logs": logs,
                                                            "finalized_at": rfc3339(MARCH)}, source="/test"))


def connections_in_use(service) -> int:
    return service.pool.get_size() - service.pool.get_idle_size()


@pytest.mark.parametrize("settings", [{"db_pool_max_size": 2}], indirect=True)
async def test_paused_csv_readers_hold_no_connection_and_get_the_whole_file(service, http, api, feed):
    await a_big_month(feed)
    async with http.get(PATH, headers=CSV) as response:
        assert response.status == 200
        fast = await response.read()
    assert len(fast) > 8_000_000 and fast.endswith(b"\r\n")

    paused = [await SlowClient.start(service.port, PATH) for _ in range(2)]  # as many as the pool holds
    assert all(client.head.startswith("HTTP/1.1 200") for client in paused)
    await eventually(lambda: connections_in_use(service) == 0)
    answers = await asyncio.gather(*(api("GET", "/monitoring/billing/families", params={"year": 2025, "month": 3})
                                     for _ in range(3)))
    assert [status for status, _ in answers] == [200, 200, 200]
    assert answers[0][1]["line_count"] == LINES

    for client in paused:
        assert await client.body() == fast
    header, *lines, end = fast.decode().split("\r\n")  # no rates: no totals, one row per student
    assert header.startswith("period,") and len(lines) == LINES and end == ""
