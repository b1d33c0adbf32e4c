"""A small asyncio TCP proxy a test can sever (live connections closed, new ones refused)
and restore, to cut one service's broker or database connection without touching the others."""
from __future__ import annotations

import asyncio
import contextlib
import urllib.parse


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, *, listen_host: str = "127.0.0.1") -> None:
        self.target_host, self.target_port, self.listen_host = target_host, target_port, listen_host
        self.port = 0
        self.connections = 0  # accepted since start, to show a client came back
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        parts = urllib.parse.urlsplit(url)
        default = {"amqp": 5672, "postgresql": 5432, "postgres": 5432}[parts.scheme]
        return cls(parts.hostname or "127.0.0.1", parts.port or default)

    def url(self, url: str) -> str:
        """`url` with its host and port replaced by this proxy's."""
        parts = urllib.parse.urlsplit(url)
        auth = parts.netloc.rpartition("@")[0]
        netloc = f"{auth}@{self.listen_host}:{self.port}" if auth else f"{self.listen_host}:{self.port}"
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))

    @property
    def severed(self) -> bool:
        return self._server is None

    async def start(self) -> TcpProxy:
        # The same port on restore, so clients reconnect to the address they were given.
        self._server = await asyncio.start_server(self._accept, self.listen_host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def sever(self) -> int:
        """Refuse new connections and drop every live one (both directions); return how many
        live connections it dropped (0: the client was not connected, the cut hit nothing)."""
        live = len(self._writers) // 2  # a client's writer and its upstream's
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        return live

    async def restore(self) -> None:
        if self._server is None:
            await self.start()

    async def close(self) -> None:
        await self.sever()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            client_writer.transport.abort()
            return
        self.connections += 1
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        try:
            await asyncio.gather(self._pipe(client_reader, upstream_writer), self._pipe(upstream_reader, client_writer))
        finally:
            self._writers -= pair
            for writer in pair:
                writer.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        # One side finished: close the other so the peer sees it.
        writer.transport.abort()
