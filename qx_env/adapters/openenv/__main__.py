"""``python -m qx_env.adapters.openenv DIR``: serve Explore-v0 as an OpenEnv environment (127.0.0.1 by default)."""

from __future__ import annotations

import argparse
import sys

from qx_env.errors import QxError
from qx_env.flags import comma_list


def main(argv: list[str] | None = None) -> int:
    """Parse the flags, build the app and serve it until interrupted."""
    from qx_env.adapters.openenv.app import MAX_SESSIONS
    from qx_env.search import SearchSettings

    parser = argparse.ArgumentParser(prog="python -m qx_env.adapters.openenv", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("snapshot", help="snapshot directory (its indexes built, e.g. by qx index build)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback unless you widen it)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (0: a free one)")
    parser.add_argument("--max-sessions", type=int, default=MAX_SESSIONS,
                        help="concurrent WebSocket sessions (at least the generation batch size)")
    SearchSettings.add_flags(parser)
    parser.add_argument("--budget", type=int, default=5, help="queries per episode")
    parser.add_argument("--reward", default="new_toxic", help="reward terms, e.g. new_toxic+0.1*query_cost")
    parser.add_argument("--dynamics", default="removal", help="static, removal, delayed or adaptive (each session one platform run: "
                        "weeks online with sellers who reword)")
    parser.add_argument("--split", type=comma_list, default="train",
                        help="report split(s) the episodes draw from, comma-separated")
    parser.add_argument("--observe-results", type=int, default=3, help="texts of the top exposed items shown")
    args = parser.parse_args(argv)
    try:
        from qx_env.adapters.openenv.app import create_openenv_app
        from qx_env.adapters.server.running import listen, serve_forever

        settings = SearchSettings.from_flags(args)
        app = create_openenv_app(args.snapshot, max_sessions=args.max_sessions, modes=settings.modes, k=settings.k,
                                 candidates=settings.candidates, ranker=settings.ranker, match=settings.match,
                                 budget=args.budget, reward=args.reward, dynamics=args.dynamics, split=args.split,
                                 observe_results=args.observe_results)
        sock = listen(args.host, args.port)
        print(f"OpenEnv Explore-v0 on http://{args.host}:{sock.getsockname()[1]} (WebSocket sessions at /ws)",
              file=sys.stderr, flush=True)
        serve_forever(app, sock)
    except QxError as exc:
        print(f"qx-openenv: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
