"""The explorer against the real chain: the indexer follows a round's events into SQLite, resumes
without repeating itself, undoes a reorganisation, and the web app (a real uvicorn server)
serves tasks, rounds, submissions with their votes, and accounts as JSON and pages."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn

from deploy import scenario
from deploy.scenario import ETH
from explorer.app import create_app
from explorer.index import Indexer
from pogo.errors import PogoError
from pogo.net.contract import PoGOContract, Reason
from pogo.net.ports import free_port

ROOT, DIFF = b"\x0a" * 32, b"\x0d" * 32


@pytest.fixture(scope="module")
def sc(w3, deployed):
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    yield scenario.build(w3, pogo=deployed)
    w3.provider.make_request("evm_revert", [snap])


@pytest.fixture(scope="module")
def round_played(sc):
    """One task, one accepted update with four approving votes, its round closed."""
    task = sc.create_task()
    sid = sc.submit(sc.miners[0], task, ROOT, DIFF)
    members, _ = sc.draw(sid)
    sc.vote(sid, [(m, True, gain, Reason.OK) for m, gain in zip(members, (300_000, 100_000, 200_000, 250_000))])
    sc.pogo.finalize(sid)
    for seat in range(len(members)):
        sc.pogo.settle_seat(sid, seat)
    sc.to_close(task)
    sc.pogo.close_round(task)
    return task, sid, members


def get(port: int, path: str):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        body = r.read().decode()
        return json.loads(body) if r.headers.get_content_type() == "application/json" else body


@pytest.fixture(scope="module")
def served(sc, round_played, tmp_path_factory):
    indexer = Indexer(sc.pogo, f"sqlite:///{tmp_path_factory.mktemp('explorer') / 'index.db'}")
    indexer.poll()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(indexer), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield port, indexer
    server.should_exit = True
    thread.join(timeout=10)


def test_the_api_shows_a_round_its_submission_and_every_vote(served, round_played, sc):
    port, _ = served
    task, sid, members = round_played
    tasks = get(port, "/api/tasks")
    assert [t["task"] for t in tasks] == [task] and tasks[0]["round"] == 1

    shown = get(port, f"/api/tasks/{task}")
    assert shown["rounds"][0]["closed"] and shown["rounds"][0]["accepted"] == 1
    assert shown["rounds"][0]["new_head"] == "0x" + ROOT.hex() == shown["head_root"] == shown["rounds"][1]["base_head"]

    sub = get(port, f"/api/tasks/{task}/rounds/0")["submissions"]
    assert len(sub) == 1 and sub[0]["submission"] == sid and sub[0]["miner"] == sc.miners[0].address
    assert sub[0]["outcome"] == "ACCEPTED" and sub[0]["reason"] == "OK" and sub[0]["gain_unat"] == sc.pogo.submission(sid).improvement > 0
    assert sorted(v["verifier"] for v in sub[0]["votes"]) == sorted(members) and sub[0]["committee"] == members
    assert get(port, f"/api/submissions/{sid}") == sub[0]

    account = get(port, f"/api/accounts/{members[0]}")
    assert account["stake_eth"] != "0"
    assert {"VoteCast", "SeatSettled"} <= {e["name"] for e in account["history"]}
    assert get(port, "/openapi.json")["paths"].keys() >= {"/api/tasks", "/api/tasks/{task_id}",
                                                           "/api/tasks/{task_id}/rounds/{round_}",
                                                           "/api/submissions/{submission_id}",
                                                           "/api/accounts/{address}"}
    verifiers = {v["verifier"]: v for v in get(port, "/api/verifiers")}
    assert set(verifiers) == set(members)
    assert all(v["votes"] == v["decided"] == v["agreed"] == 1 and v["agreement"] == 1.0 for v in verifiers.values())
    assert all(v["paid_eth"] == "0.01" and v["slashed_eth"] == "0" for v in verifiers.values())  # the fee each
    assert members[0] in get(port, "/verifiers")
    page = get(port, f"/accounts/{members[0]}")
    assert f"PoGO account {members[0]}" in page and "SeatSettled" in page and "VoteCast" in page
    page = get(port, f"/tasks/{task}")
    assert f"PoGO task {task}" in page and "0x" + ROOT.hex() in page


@pytest.mark.parametrize("path, status", [("/api/tasks/99", 404), ("/api/submissions/999", 404),
                                          ("/api/accounts/nobody", 422), ("/api/tasks/x", 422)])
def test_bad_requests_get_an_error_that_says_why(served, path, status):
    port, _ = served
    with pytest.raises(urllib.error.HTTPError) as err:
        get(port, path)
    assert err.value.code == status and json.loads(err.value.read())["detail"]


def test_the_index_resumes_and_survives_a_reorganisation(sc, served, w3):
    _, indexer = served
    again = Indexer(sc.pogo, str(indexer.engine.url))  # a restart: the same database
    assert again.poll().new_events == 0
    snap = w3.provider.make_request("evm_snapshot", [])["result"]
    sc.as_(sc.miners[1]).stake(ETH)  # lands in a block that the reorganisation drops
    assert again.poll().new_events == 1
    staked = len(again.query(names=("Staked",)))
    assert w3.provider.make_request("evm_revert", [snap])["result"] is True
    sc.mine(3)  # the same heights, other blocks
    progress = again.poll()
    assert progress.reorged_from is not None and progress.new_events == 0
    assert len(again.query(names=("Staked",))) == staked - 1


def test_a_database_of_another_deployment_is_refused(sc, served, w3, clients):
    _, indexer = served
    other = PoGOContract.deploy(clients[0])
    with pytest.raises(PogoError, match="give the explorer another --db"):
        Indexer(other, str(indexer.engine.url))


def test_a_person_sees_the_task_its_rounds_and_the_loss_chart(served, round_played):
    """The task page in headless Chromium (Debian's), after its scripts ran: the task, its rounds
    and the loss chart drawn by Chart.js, served by the explorer itself."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make setup` installs it"
    port, _ = served
    task, _, _ = round_played
    r = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                        "--dump-dom", f"http://127.0.0.1:{port}/tasks/{task}"],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    assert f"<h1>PoGO task {task}</h1>" in dom and "0x" + ROOT.hex() in dom
    assert 'data-chart="1"' in dom, dom[-2000:]  # one closed round with an update: one point drawn
