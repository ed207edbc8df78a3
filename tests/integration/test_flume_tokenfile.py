"""The token file survives SIGKILL of its writer: a reader finds a whole token."""

from __future__ import annotations

from pathlib import Path

from bridge.flume.tokens import TokenStore
from tests.support.programs import kill_midway

IDENTITY = {"api_url": "http://127.0.0.1:1", "client_id": "c", "username": "u@x"}
# Saves tokens 0, 1, 2, ... as fast as it can, each access token 8 kB long so that
# a write takes several system calls; prints each number once it is saved.
WRITER = """
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from bridge.flume.tokens import TokenStore
from bridge.models import Token

store = TokenStore(Path(sys.argv[1]))
identity = {"api_url": "http://127.0.0.1:1", "client_id": "c", "username": "u@x"}
now = datetime.now(UTC)
n = 0
while True:
    store.save(Token(f"{n}:" + "a" * 8192, f"refresh-{n}", n, now + timedelta(days=7),
                     now), identity)
    print(n, flush=True)
    n += 1
"""


def test_sigkill_while_writing_leaves_the_previous_valid_file(tmp_path: Path) -> None:
    """Wherever the writer dies, the file holds a whole token it saved or was saving."""
    for attempt, after in enumerate((0.0, 0.07, 0.23)):
        state_dir = tmp_path / str(attempt)
        last = kill_midway(WRITER, state_dir, after, "0")
        loaded = TokenStore(state_dir).load(IDENTITY)
        assert loaded is not None
        n = loaded.user_id
        # The kill may land after a rename but before the print: n is last or last+1.
        assert n in (last, last + 1)
        assert loaded.access_token == f"{n}:" + "a" * 8192
        assert loaded.refresh_token == f"refresh-{n}"
        assert [p.name for p in state_dir.iterdir()] == ["flume-token.json"]
