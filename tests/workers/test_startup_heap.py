"""A role that serves moves its start-up heap out of the garbage collector's generations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_web_role_freezes_its_start_up_heap_before_it_serves(tmp_path: Path) -> None:
    # Given the web role about to serve, in an interpreter of its own (uvicorn's serving
    # loop replaced by a look at the collector)
    probe = f"""
import gc, json, socket
from pathlib import Path
import uvicorn
from config.settings import Settings
from workers.process.roles import runtime_for, serve_http
seen = {{}}
def look(server, sockets=None):
    app = server.config.app
    seen["frozen"] = gc.get_freeze_count()
    seen["app_collectable"] = any(o is app for o in gc.get_objects())
uvicorn.Server.run = look
settings = Settings(data_dir=Path({str(tmp_path)!r}), recipients=["support@example.com"])
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen()
seen["frozen_before"] = gc.get_freeze_count()
with runtime_for(settings, "redis://127.0.0.1:1/0") as runtime:
    serve_http(runtime, listener)
print(json.dumps(seen))
"""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Then, when it starts serving, the app and what it was built from are frozen
    assert seen["frozen_before"] == 0
    assert seen["frozen"] > 10_000
    assert seen["app_collectable"] is False
