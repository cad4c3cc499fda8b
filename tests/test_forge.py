"""The contract invariants of tests/forge/PoGOInvariants.t.sol under forge's invariant fuzzer:
64 random sequences of 64 calls each (a fixed seed, so the run is the same every time), every
invariant checked after every call. `make fuzz` runs 2,000 x 200 with a fresh seed."""

from __future__ import annotations

import os
import re
import subprocess

from pogo.dev import toolchain

INVARIANTS = ("invariant_ethIsConserved", "invariant_totalsAreSumsOfAccounts",
              "invariant_withdrawableMovesOnlyWithAnEvent", "invariant_honestParticipantsNeverLoseStake",
              "invariant_bondsMatchWhatIsOpen", "invariant_commitsNeverExceedSeats")


def test_contract_invariants_hold_over_thousands_of_random_calls():
    forge = toolchain.forge()  # a PogoError naming `make setup` if it is missing: never a skip
    env = dict(os.environ, FOUNDRY_PROFILE="default")
    r = subprocess.run([str(forge), "test", "--root", str(toolchain.REPO_ROOT)], capture_output=True, text=True,
                       env=env, timeout=900, check=False)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-4000:]
    for name in INVARIANTS:
        m = re.search(rf"\[PASS\] {name}\(\) \(runs: (\d+), calls: (\d+)", out)
        assert m, f"{name} did not run:\n{out[-4000:]}"
        assert int(m.group(1)) == 64 and int(m.group(2)) >= 4000
    assert "[PASS] test_scriptedRoundReachesEveryPath()" in out
    assert "[PASS] test_aZeroLedVoteCommitmentIsRefused()" in out
