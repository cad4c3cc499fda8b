"""The explorer's web app: JSON under /api (OpenAPI at /openapi.json, docs at /docs) from the
indexed events and the contract's live views, and a page per task for people."""

from __future__ import annotations

from html import escape

import sqlalchemy as sa
from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from web3 import Web3

from explorer.index import Indexer, events
from pogo.dev.toolchain import REPO_ROOT
from pogo.net.contract import Reason, Status
from pogo.node import account_status, eth, task_summary

# Chart.js from npm (package.json), served by the explorer itself: pages load nothing from elsewhere.
CHART_JS = REPO_ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"


def create_app(indexer: Indexer) -> FastAPI:
    pogo = indexer.pogo
    app = FastAPI(title="PoGO explorer", description="Tasks, rounds, submissions, votes and accounts of one "
                  "PoGO deployment, from its events and live contract state. Amounts are in ETH.")

    def task_count() -> int:
        return pogo.contract.functions.taskCount().call()

    def known_task(task_id: int) -> None:
        if not 1 <= task_id <= task_count():
            raise HTTPException(404, f"there is no task {task_id}")

    def submission_view(sid: int, evs: list[dict]) -> dict:
        """One submission from its events: who, what, how the committee voted, how it ended."""
        out: dict = {"submission": sid}
        for e in evs:
            if e["name"] == "UpdateSubmitted":
                out.update(task=e["taskId"], round=e["round"], miner=e["miner"],
                           kind="aggregate" if e["kind"] else "update", new_root=e["newRoot"], diff_cid=e["diffCid"],
                           claimed_loss_first=e["claimedLossFirst"] / 1e6, claimed_loss_last=e["claimedLossLast"] / 1e6,
                           block=e["block"])
            elif e["name"] == "CommitteeDrawn":
                out["committee"] = e["members"]
            elif e["name"] == "VoteCast":
                abstained = not e["approve"] and e["reason"] == Reason.OK  # PROTOCOL.md D18
                out.setdefault("votes", []).append({"verifier": e["verifier"], "seat": e["seat"], "approve": e["approve"],
                                                    "reason": "ABSTAIN" if abstained else Reason(e["reason"]).name,
                                                    "gain_unat": e["improvement"]})
            elif e["name"] == "Finalized":
                out.update(outcome=Status(e["status"]).name, approvals=e["approvals"], rejections=e["rejections"],
                           gain_unat=e["improvement"], miner_slashed_eth=eth(e["minerSlash"]))
            elif e["name"] == "Rewarded":
                out["reward_eth"] = eth(e["amount"])
            elif e["name"] == "LeafFraudProven":
                out["fraud_proof"] = {"prover": e["prover"], "leaf": e["leaf"], "bounty_eth": eth(e["bounty"])}
        votes = [v["reason"] for v in out.get("votes", []) if not v["approve"] and v["reason"] != "ABSTAIN"]
        out["reason"] = max(set(votes), key=votes.count) if votes else ("OK" if out.get("votes") else None)
        out.setdefault("outcome", "OPEN")
        return out

    def submissions(*where) -> list[dict]:
        ids = sorted({e["submissionId"] for e in indexer.query(*where, names=("UpdateSubmitted",))})
        if not ids:
            return []
        evs = indexer.query(events.c.submission_id.in_(ids))
        return [submission_view(i, [e for e in evs if e.get("submissionId") == i]) for i in ids]

    @app.get("/api/tasks", summary="Every task: owner, pool, round, head")
    def tasks() -> list[dict]:
        return [task_summary(pogo, t) for t in range(1, task_count() + 1)]

    @app.get("/api/tasks/{task_id}", summary="One task, with each round's outcome, the head it built on and "
                                             "the head it made")
    def task(task_id: int) -> dict:
        known_task(task_id)
        out = task_summary(pogo, task_id)
        closed = {e["round"]: e for e in indexer.query(events.c.task_id == task_id, names=("RoundClosed",))}
        heads = {e["round"]: e["root"] for e in indexer.query(events.c.task_id == task_id, names=("HeadAdvanced",))}
        # a round whose aggregate was never accepted paid nothing: its pot went back (PROTOCOL.md D15)
        returned = {e["round"] for e in indexer.query(events.c.task_id == task_id, names=("RoundPotReturned",))}
        subs = submissions(events.c.task_id == task_id)
        out["rounds"] = [{"round": r, "closed": r in closed, "accepted": closed[r]["accepted"] if r in closed else None,
                          "reward_pot_eth": (eth(0) if r in returned else eth(closed[r]["rewardPot"])) if r in closed else None,
                          "base_head": heads.get(r), "new_head": heads.get(r + 1),  # what it built on, made
                          "submissions": sum(1 for s in subs if s.get("round") == r),
                          "mean_claimed_loss_last": _mean([s["claimed_loss_last"] for s in subs
                                                           if s.get("round") == r and s.get("kind") == "update"])}
                         for r in range(out["round"] + 1)]
        return out

    @app.get("/api/tasks/{task_id}/rounds/{round_}", summary="A round's submissions: miner, outcome, reason, "
                                                             "gain, reward, votes per verifier")
    def task_round(task_id: int, round_: int) -> dict:
        known_task(task_id)
        return {"task": task_id, "round": round_,
                "submissions": submissions(events.c.task_id == task_id, events.c.round == round_)}

    @app.get("/api/submissions/{submission_id}", summary="One submission and its committee's votes")
    def submission(submission_id: int) -> dict:
        found = submissions(events.c.submission_id == submission_id)
        if not found:
            raise HTTPException(404, f"there is no submission {submission_id} (or it is not indexed yet)")
        return found[0]

    @app.get("/api/accounts/{address}", summary="An account's stake, bonds and history of stakes, "
                                                "rewards, slashes and withdrawals")
    def account(address: str) -> dict:
        if not Web3.is_address(address):
            raise HTTPException(422, f"{address!r} is not an Ethereum address")
        address = Web3.to_checksum_address(address)
        out = account_status(pogo, address)
        history = indexer.query(sa.func.lower(events.c.account) == address.lower(),
                                names=("Staked", "UnstakeRequested", "Withdrawn", "Slashed", "Rewarded",
                                       "SeatSettled", "VoteCast", "VerifierRegistered", "VerifierLeft"))
        out["history"] = [{k: (eth(v) if k in ("amount", "paid", "slashed", "stake") else v) for k, v in e.items()}
                          for e in history]
        return out

    @app.get("/api/verifiers", summary="Every verifier that voted: votes, agreement with the outcomes, slashes")
    def verifiers() -> list[dict]:
        votes = indexer.query(names=("VoteCast",))
        outcomes = {e["submissionId"]: Status(e["status"]) for e in indexer.query(names=("Finalized",))}
        settled = indexer.query(names=("SeatSettled",))
        rows: dict[str, dict] = {}
        for v in votes:
            row = rows.setdefault(v["verifier"], {"verifier": v["verifier"], "votes": 0, "decided": 0, "agreed": 0,
                                                  "slashed_eth": "0", "paid_eth": "0"})
            row["votes"] += 1
            outcome = outcomes.get(v["submissionId"])
            if outcome in (Status.ACCEPTED, Status.REJECTED, Status.NOT_ACCEPTED) and (v["approve"] or v["reason"]):
                # an abstention (D18) takes no side, so it neither agrees nor disagrees
                row["decided"] += 1
                row["agreed"] += v["approve"] == (outcome == Status.ACCEPTED)
        for who, row in rows.items():
            mine = [e for e in settled if e["verifier"] == who]
            row["paid_eth"] = eth(sum(e["paid"] for e in mine))
            row["slashed_eth"] = eth(sum(e["slashed"] for e in mine))
            row["agreement"] = row["agreed"] / row["decided"] if row["decided"] else None
        return sorted(rows.values(), key=lambda r: -r["votes"])

    @app.get("/static/chart.js", include_in_schema=False)
    def chart_js() -> FileResponse:
        if not CHART_JS.exists():
            raise HTTPException(500, f"{CHART_JS} is missing: run `make setup` (npm ci installs Chart.js)")
        return FileResponse(CHART_JS, media_type="text/javascript")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home() -> str:
        rows = "".join(f"<tr><td><a href='/tasks/{t['task']}'>{t['task']}</a></td><td>{escape(t['owner'])}</td>"
                       f"<td>{t['pool_eth']}</td><td>{t['round']}</td><td>{t['ended']}</td></tr>" for t in tasks())
        return _page("PoGO tasks", f"<table><tr><th>task</th><th>owner</th><th>pool (ETH)</th><th>round</th>"
                                   f"<th>ended</th></tr>{rows}</table>")

    @app.get("/verifiers", response_class=HTMLResponse, include_in_schema=False)
    def verifiers_page() -> str:
        def agreement(v: dict) -> str:
            return "" if v["agreement"] is None else f"{v['agreement']:.0%}"

        rows = "".join(f"<tr><td><a href='/accounts/{v['verifier']}'>{escape(v['verifier'])}</a></td>"
                       f"<td>{v['votes']}</td><td>{agreement(v)}</td>"
                       f"<td>{v['paid_eth']}</td><td>{v['slashed_eth']}</td></tr>" for v in verifiers())
        return _page("PoGO verifiers", "<table><tr><th>verifier</th><th>votes</th><th>agreed with the outcome</th>"
                                       f"<th>paid (ETH)</th><th>slashed (ETH)</th></tr>{rows}</table>")

    @app.get("/accounts/{address}", response_class=HTMLResponse, include_in_schema=False)
    def account_page(address: str) -> str:
        a = account(address)
        position = "".join(f"<tr><th>{escape(k.removesuffix('_eth').replace('_', ' '))}</th><td>{escape(str(v))}</td></tr>"
                           for k, v in a.items() if k not in ("history", "address"))
        history = "".join(f"<tr><td>{e['block']}</td><td>{escape(e['name'])}</td><td>{escape(str(e.get('submissionId', '')))}"
                          f"</td><td>{escape(str(e.get('amount', e.get('paid', ''))))}</td><td>{escape(str(e.get('slashed', '')))}"
                          f"</td></tr>" for e in a["history"])
        return _page(f"PoGO account {a['address']}", f"<table>{position}</table><h2>history</h2>"
                     "<table><tr><th>block</th><th>event</th><th>submission</th><th>amount (ETH)</th>"
                     f"<th>slashed (ETH)</th></tr>{history}</table>")

    @app.get("/tasks/{task_id}", response_class=HTMLResponse, include_in_schema=False)
    def task_page(task_id: int) -> str:
        t = task(task_id)
        def loss(r: dict) -> str:
            return "" if r["mean_claimed_loss_last"] is None else f"{r['mean_claimed_loss_last']:.4f}"

        rounds = "".join(
            f"<tr><td>{r['round']}</td><td>{r['closed']}</td><td>{r['accepted']}</td><td>{r['submissions']}</td>"
            f"<td>{loss(r)}</td><td><code>{escape(r['new_head'] or '')}</code></td></tr>" for r in t["rounds"])
        return _page(f"PoGO task {task_id}",
                     f"<p>owner {escape(t['owner'])} · pool {t['pool_eth']} ETH · round {t['round']}</p>"
                     f"<div style='max-width:48em'><canvas id='loss'></canvas></div>"
                     f"<table><tr><th>round</th><th>closed</th><th>accepted</th><th>submissions</th>"
                     f"<th>miners' final training loss</th><th>new head</th></tr>{rounds}</table>"
                     f"<script src='/static/chart.js'></script><script>{LOSS_CHART % task_id}</script>")

    return app


# The loss curve: the mean of the miners' final training loss per round, from the JSON API. Once
# drawn, the body says how many rounds it shows (data-chart), which the headless browser test reads.
LOSS_CHART = """
fetch('/api/tasks/%d').then(r => r.json()).then(t => {
  const rounds = t.rounds.filter(r => r.mean_claimed_loss_last !== null);
  new Chart(document.getElementById('loss'), {type: 'line', options: {animation: false},
    data: {labels: rounds.map(r => 'round ' + r.round),
           datasets: [{label: "miners' final training loss (nats)", data: rounds.map(r => r.mean_claimed_loss_last)}]}});
  document.body.dataset.chart = String(rounds.length);
});
"""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:.3em .6em}</style></head>"
            f"<body><h1>{escape(title)}</h1>{body}<p><a href='/'>tasks</a> · <a href='/verifiers'>verifiers</a> · "
            "<a href='/docs'>API</a></p></body></html>")
