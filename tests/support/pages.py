"""Every item of a keyset-paged list (`{"items", "next_cursor"}`), following its cursors."""
from __future__ import annotations

from typing import Any

import aiohttp


async def every_item(http: aiohttp.ClientSession, url: str, headers: dict[str, str], **params: Any) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        query = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        async with http.get(url, headers=headers, params=query | ({"cursor": cursor} if cursor else {})) as response:
            assert response.status == 200, await response.text()
            page = await response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
