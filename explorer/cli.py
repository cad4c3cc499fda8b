"""`pogo explorer`: index the deployment's events and serve the explorer."""

from __future__ import annotations

import argparse
import sys
import threading

from pogo.errors import PogoError
from pogo.node import add_node_options, connect


def _say(message: str) -> None:
    print(f"pogo explorer: {message}", file=sys.stderr, flush=True)


def cmd_explorer(args: argparse.Namespace) -> int:
    import uvicorn

    from explorer.app import create_app
    from explorer.index import Indexer
    from pogo.net import chain
    from pogo.net.loop import poll_until

    node = connect(args, read_only=True)
    pogo = node.contract()
    db = args.db or "sqlite:///" + str(args.deployment.parent / "explorer.db")
    indexer = Indexer(pogo, db, from_block=chain.Deployment.load(args.deployment).block, say=_say)
    progress = indexer.poll()
    _say(f"indexed to block {progress.last_block} ({progress.new_events} events) into {db}")

    def follow() -> None:
        def step() -> bool:
            p = indexer.poll()
            if p.new_events:
                _say(f"block {p.last_block}: {p.new_events} new events")
            return False

        try:
            poll_until(step, args.interval, _say, give_up_after=args.give_up_after)
        except PogoError as exc:  # the pages keep serving what was indexed
            _say(f"indexing stopped: {exc}")

    threading.Thread(target=follow, daemon=True, name="indexer").start()
    _say(f"serving http://{args.host}:{args.port}/ (API at /api, OpenAPI at /openapi.json)")
    uvicorn.run(create_app(indexer), host=args.host, port=args.port, log_level="warning")
    return 0


def register(sub) -> None:
    e = sub.add_parser("explorer", help="index the deployment's events into a database and serve them as web "
                                        "pages and JSON")
    add_node_options(e)
    e.add_argument("--port", type=int, default=8000, help="HTTP port")
    e.add_argument("--host", default="127.0.0.1", help="address to listen on")
    e.add_argument("--db", help="SQLAlchemy URL (default sqlite:///<the deployment record's folder>/explorer.db)")
    e.add_argument("--interval", type=float, default=2.0, help="seconds between polls of the chain")
    e.add_argument("--give-up-after", type=float, default=600.0,
                   help="exit non-zero after this many seconds with the chain unreachable")
    e.set_defaults(func=cmd_explorer)
