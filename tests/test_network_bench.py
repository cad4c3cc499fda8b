"""benchmarks.network runs end to end at its smallest (the figures themselves are
docs/NETWORK.md's, at up to 1,000 x 1,000): a stressed round on its own Anvil and IPFS, with a
cheater and a killed bot process, closes on time, slashes only the cheater, and its summary
names every field the docs quote. A bad configuration is one line."""

import json
import subprocess
import sys


def test_a_stressed_round_closes_on_time_and_slashes_only_the_cheater(tmp_path):
    out = tmp_path / "network.json"
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks.network", "--miners", "4", "--verifiers", "6", "--rounds", "1",
         "--keepers", "1", "--bot-processes", "1", "--miner-processes", "1", "--shards", "2", "--steps", "2",
         "--stress", "--cheat-fraction", "0.25", "--poll-seconds", "1", "--round-blocks", "60", "--vote-blocks", "60",
         "--json", str(out)],
        check=False, capture_output=True, text=True, timeout=500)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(out.read_text())
    (row,) = result["rounds"]
    summary = result["summary"]
    assert row["outcomes"] == {"ACCEPTED": 3, "REJECTED": 1}, row
    for fault in ("bot process killed", "IPFS daemon restarted", "chain node killed"):  # one round takes all three
        assert fault in row["fault"], row["fault"]
    assert summary["on_time_fraction"] == 1.0 and summary["rounds_closed"] == 1
    assert summary["cheaters"] == 1 and summary["cheaters_slashed"] == 1 and summary["honest_lost_stake"] == 0
    assert summary["bot_errors"] == 0 and summary["bot_error_kinds"] == {}, summary["bot_error_kinds"]
    assert summary["miner_errors"] == 0, summary["miner_error_kinds"]
    assert summary["miners_left_round"]["0"] == {"revealed": 4}
    for field in ("gas_per_round", "blocks_per_round", "blocks_needed_at_30m_per_round", "tps_sustained",
                  "votes_per_verifier_per_round", "slowest_step", "limits", "miner_error_kinds"):
        assert field in summary, field
    assert summary["gas_per_round"] > 0 and summary["tps_sustained"] > 0


def test_a_bad_configuration_is_one_line():
    run = subprocess.run([sys.executable, "-m", "benchmarks.network", "--verifiers", "4", "--keepers", "4"],
                         check=False, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "verifiers >= --committee and > --keepers" in run.stderr
