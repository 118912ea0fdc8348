"""``qx serve DIR``: the HTTP retrieval server over a snapshot's simulated search system."""

from __future__ import annotations

import argparse
from pathlib import Path

from qx_env.flags import add_dataclass_flags, dataclass_from_flags

#: ServerConfig's fields that are the search settings (their flags: qx_env.search.SearchSettings.add_flags).
SEARCH_FIELDS = ("modes", "k", "candidates", "ranker", "match")


def register(tools: argparse._SubParsersAction) -> None:
    from qx_env.adapters.server.config import ServerConfig
    from qx_env.cli.search import add_system_flags

    serve = tools.add_parser("serve", help="serve the search system over HTTP (Search-R1/verl, SkyRL, GEM formats)")
    serve.add_argument("snapshot", type=Path, help="snapshot directory, indexed by qx index build")
    add_system_flags(serve)  # the search settings' flags, as on every command that searches
    add_dataclass_flags(serve, ServerConfig, skip=SEARCH_FIELDS)
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from qx_env.adapters.server import ServerConfig, create_app, listen, serve_forever
    from qx_env.snapshot import Snapshot

    config = dataclass_from_flags(ServerConfig, args)
    snapshot = Snapshot.load(args.snapshot)
    app = create_app(snapshot, config, build=args.build_missing)
    served = app.state.snapshot
    sock = listen(config.host, config.port)
    host, port = sock.getsockname()[:2]
    print(f"qx serve: {served.meta.name} ({len(served)} items), modes {','.join(config.modes)}, dynamics {config.dynamics}, "
          f"on http://{host}:{port} (POST /retrieve, /session/{{id}}/reset, GET /health, /stats)", flush=True)
    serve_forever(app, sock)
    return 0
