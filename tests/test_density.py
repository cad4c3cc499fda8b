"""benchmarks.density runs end to end on the demo task (a round each, a few steps: the figures
themselves are docs/DENSITY.md's), and a bad configuration is one line."""

import json

from benchmarks import density


def test_one_round_of_each_kind_reports_bytes_and_losses(capsys):
    assert density.main(["--rounds", "1", "--miners", "1", "--steps", "2", "--configs", "fp32,dense,1", "--judge"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fp32, dense, sparse, summary = rows
    # --judge: each MX-int4 update judged as a committee would; two steps from scratch gain plenty
    assert "verdicts" not in fp32 and dense["verdicts"]["OK"] == sparse["verdicts"]["OK"] == 1
    assert sparse["verdicts"]["least_gain"] > 5_000 and len(sparse["verdicts"]) == 2
    assert (fp32["config"], dense["config"], sparse["config"]) == ("fp32", "dense", "k=1")
    assert all(len(r["losses"]) == 2 and r["losses"][1] < r["losses"][0] for r in (fp32, dense, sparse))
    # The demo GPT (470,528 parameters, 115 leaves): 19 bytes a leaf and the tree file's 32 (D19).
    assert dense["compression"] == 7.4 and sparse["compression"] == 312.4 and sparse["density"] == 1 / 128
    assert summary["summary"] and summary["within"] == 0.01
    # Another sampling seed is another run: the same start, a different first round.
    assert density.main(["--rounds", "1", "--miners", "1", "--steps", "2", "--configs", "dense", "--seed", "1"]) == 0
    other = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (dense["seed"], other["seed"]) == (0, 1)
    assert other["losses"][0] == dense["losses"][0] and other["losses"][1] != dense["losses"][1]


def test_a_bad_configuration_is_one_line(capsys):
    assert density.main(["--configs", "fp32,lots"]) == 2
    assert density.main(["--configs", "128"]) == 2  # all of a 4,096 leaf's groups: that is dense
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "groups per record must be" in err[1]
