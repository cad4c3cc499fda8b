"""The demo itself, shortened: its own devnet, DeepSpeed miners, bots, aggregation each round;
kept up afterwards, and then reached by the other commands from the same folder with no flags."""

import json
import subprocess
import sys

from deploy import demo
from pogo.dev.devnet import Devnet


def test_two_rounds_advance_the_head_and_slash_the_cheater(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a user runs `pogo demo --keep`, then `pogo status`
    state_dir = tmp_path / "elsewhere" / "demo"  # any --state-dir
    try:
        report = demo.run(rounds=2, state_dir=state_dir, steps=10, keep=True)
        result = demo.verdict(report)
        assert result == {k: True for k in result}, result
        assert [len(r["submissions"]) for r in report["rounds"]] == [4, 4]
        assert all(r["submissions"][3]["reasons"] == ["HARMFUL"] for r in report["rounds"])
        assert report["slashed_eth"]["cheater"] == 1.0 and report["rounds"][1]["head"] != report["rounds"][0]["head"]

        assert report["deployment_record"] == ".pogo/deployment.json"
        r = subprocess.run([sys.executable, "-m", "pogo", "task", "show", "1"], capture_output=True, text=True,
                           timeout=120, check=False)
        assert r.returncode == 0, r.stderr
        shown = json.loads(r.stdout)
        assert shown["round"] == 2 and shown["head_root"] == report["rounds"][1]["head"]
        r = subprocess.run([sys.executable, "-m", "pogo", "status", "--dev-account", "1"], capture_output=True,
                           text=True, timeout=120, check=False)
        assert r.returncode == 0 and json.loads(r.stdout)["stake_eth"] != "0", r.stderr
        claims = [subprocess.run([sys.executable, "-m", "pogo", "miner", "claim", "--task", "1", "--dev-account", "1",
                                  "--workdir", str(tmp_path / "claim")], capture_output=True, text=True, timeout=120,
                                 check=False) for _ in range(2)]
        assert [c.returncode for c in claims] == [0, 0], claims[0].stderr + claims[1].stderr
        assert json.loads(claims[1].stdout)["submissions"] == []  # whatever the first found, it claimed
    finally:
        Devnet(state_dir.resolve() / "devnet").down()
