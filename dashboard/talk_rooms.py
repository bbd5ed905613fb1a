"""Where a talk's speaker view (a second window, on the speaker's own screen) finds the slide the
audience sees.

The window that gives the talk publishes its talk and current slide under a random token; a
speaker view opened with that token (``/talk?follow=<token>``) reads them every second. Only
holders of the token can read a room; rooms are kept in this server process only, for at most
``MAX_ROOMS`` talks and ``ROOM_HOURS`` each. Plain Python (no Streamlit).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .talks import Talk

MAX_ROOMS = 64
ROOM_HOURS = 12


@dataclass(frozen=True)
class Room:
    """What the speaker view shows: the talk, the slide the audience sees (from 1), when the
    talk was first published."""

    talk: Talk
    number: int
    started: float


_rooms: OrderedDict[str, Room] = OrderedDict()
_lock = threading.Lock()


def new_token() -> str:
    """A token nobody can guess (128 bits)."""
    return secrets.token_urlsafe(16)


def publish(token: str, talk: Talk, number: int) -> None:
    """The audience's window is on slide ``number`` of ``talk``."""
    now = time.time()
    with _lock:
        previous = _rooms.pop(token, None)
        started = previous.started if previous is not None else now
        _rooms[token] = Room(talk=talk, number=number, started=started)
        while len(_rooms) > MAX_ROOMS:
            _rooms.popitem(last=False)


def read(token: str) -> Room | None:
    """The room of ``token``, or None (unknown, or older than ``ROOM_HOURS``)."""
    with _lock:
        room = _rooms.get(token)
        if room is not None and time.time() - room.started > ROOM_HOURS * 3600:
            del _rooms[token]
            return None
        return room
