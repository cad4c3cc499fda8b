"""The loss judgment of PROTOCOL.md V2.3 as a pure rule: verdicts at the edges, and its stated
error rates checked by simulation with fixed seeds (enough trials that the check cannot fail
by chance: each bound is tested at ~5x the count the stated rate allows)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pogo.errors import FormatError
from pogo.protocol import judgment
from pogo.protocol.taskspec import TaskSpec, Verification

RULES = Verification().rules()


def run(rules: judgment.Rules, x: np.ndarray) -> str:
    """The sequential procedure over per-window improvements x (micro-nats), as measure() runs it."""
    looks = rules.looks()
    for n in looks:
        prev = x[:n] * 1e-6
        verdict = judgment.judge_gain(judgment.Evidence.paired(prev, np.zeros(n)), rules, last_look=(n == looks[-1]))
        if verdict is not None:
            return verdict
    raise AssertionError("the last look always decides")


def test_looks_double_up_to_the_cap():
    assert RULES.looks() == [64, 128, 256, 512, 1024]
    assert judgment.Rules(5000, 0, 0, 1e-3, 1e-6, 100, 300).looks() == [100, 200, 300]


def test_verdicts_at_the_edges():
    zeros = np.zeros(1024)
    assert run(RULES, zeros) == judgment.NO_PROGRESS  # exactly no change: sure, and a judgment
    assert run(RULES, np.full(1024, 50_000.0)) == judgment.OK
    assert run(RULES, np.full(1024, -1e6)) == judgment.HARMFUL
    nan = np.zeros(1024)
    nan[3] = np.nan
    assert run(RULES, nan) == judgment.NON_FINITE
    rng = np.random.default_rng(0)
    assert run(RULES, rng.normal(5_000, 400_000, 1024)) == judgment.INSUFFICIENT_EVIDENCE


def test_a_loss_rise_within_the_harm_margin_is_never_harmful():
    """HARMFUL needs the rise to exceed harm_margin beyond doubt; a sure rise of 90 % of the
    margin is a judgment (NO_PROGRESS), not a slash."""
    x = np.full(1024, -0.9 * RULES.harm_margin)
    assert run(RULES, x) == judgment.NO_PROGRESS


@pytest.mark.parametrize("sd_ratio", [0.5, 1.0, 2.0])
def test_a_2x_threshold_gain_is_refused_at_most_at_the_stated_rate(sd_ratio):
    """20,000 updates with true gain 2x the threshold and per-window spread sd_ratio x the gain
    (what benchmarks.soundness measures on the demo model: 0.5-1.7). The rate promised is 1e-3,
    so 20 refusals are expected at worst; more than 100 cannot happen by chance (p < 1e-30)."""
    rng = np.random.default_rng(1234)
    gain = 2 * RULES.threshold
    refused = sum(run(RULES, rng.normal(gain, sd_ratio * gain, 1024)) != judgment.OK for _ in range(20_000))
    assert refused <= 100


@pytest.mark.parametrize("sd", [2_500.0, 10_000.0, 40_000.0])
def test_no_true_gain_is_accepted_at_most_at_the_stated_rate_and_never_slashed(sd):
    rng = np.random.default_rng(99)
    verdicts = [run(RULES, rng.normal(0.0, sd, 1024)) for _ in range(20_000)]
    assert verdicts.count(judgment.OK) <= 100
    assert verdicts.count(judgment.HARMFUL) == 0  # a zero-effect update is never slashed


def run_aggregate(rules: judgment.Rules, rise: np.ndarray) -> str:
    """The aggregate's loss check (D15) over per-window rises (micro-nats), as measure_aggregate runs it."""
    looks = rules.looks()
    for n in looks:
        verdict = judgment.judge_aggregate(judgment.Evidence.paired(rise[:n] * 1e-6, np.zeros(n)), rules,
                                           last_look=(n == looks[-1]))
        if verdict is not None:
            return verdict
    raise AssertionError("the last look always decides")


def test_the_aggregate_check_refuses_only_clear_harm_and_never_with_a_fault():
    margin = RULES.harm_margin
    assert run_aggregate(RULES, np.full(1024, 2 * margin)) == judgment.OVERFIT
    assert run_aggregate(RULES, np.full(1024, 0.9 * margin)) == judgment.OK  # a sure rise within the margin
    assert run_aggregate(RULES, np.full(1024, -50_000.0)) == judgment.OK
    nan = np.zeros(1024)
    nan[5] = np.inf
    assert run_aggregate(RULES, nan) == judgment.OVERFIT  # an average that overflowed: refused, no fault
    # Noise that never settles: harm not shown by the cap, so accepted.
    assert run_aggregate(RULES, np.random.default_rng(3).normal(margin, 2_000_000, 1024)) == judgment.OK
    verdicts = {run_aggregate(RULES, np.random.default_rng(i).normal(m, sd, 1024))
                for i, (m, sd) in enumerate([(0, 1e5), (3e5, 1e5), (-1e6, 1e6), (1.5e5, 3e5)])}
    assert verdicts <= {judgment.OK, judgment.OVERFIT}  # the only verdicts: never a fault


@pytest.mark.parametrize("sd", [50_000.0, 200_000.0, 800_000.0])
def test_an_aggregate_within_the_harm_margin_is_refused_at_most_at_the_stated_rate(sd):
    """20,000 aggregates whose true rise is exactly the margin (the worst case the rate covers):
    at most error_rate (1e-3) refused, 20 expected at worst; more than 40 would take 4.5 standard
    deviations. Normal per-window rises, and skewed ones (a lognormal, centred on the margin)."""
    rng = np.random.default_rng(77)
    refused = sum(run_aggregate(RULES, rng.normal(RULES.harm_margin, sd, 1024)) != judgment.OK for _ in range(20_000))
    assert refused <= 40
    skewed = [run_aggregate(RULES, RULES.harm_margin + sd * (rng.lognormal(0, 1, 1024) - np.exp(0.5)))
              for _ in range(20_000)]
    assert skewed.count(judgment.OVERFIT) <= 40


def test_t_quantiles_are_the_student_t_tails_of_the_stated_rates():
    from scipy import stats

    for n in RULES.looks():
        assert math.isclose(stats.t.sf(RULES.t(n), n - 1), RULES.error_rate / 5, rel_tol=1e-6)
        assert math.isclose(stats.t.sf(RULES.t_harm(n), n - 1), RULES.slash_rate / 5, rel_tol=1e-6)


@pytest.mark.parametrize("field, value", [("error_rate", 0.0), ("error_rate", 0.6), ("slash_rate", 1e-3),
                                          ("first_look", 1), ("max_windows", 10), ("min_improvement", 0),
                                          ("catch_fraction", 1.0)])
def test_a_spec_with_numbers_that_cannot_work_is_refused(field, value):
    spec = TaskSpec(model={}, manifest_hash="0x", n_params=1, leaf_size=32, dataset_cid="", dataset_hash="0x",
                    n_shards=2, verification=Verification(**{field: value}))
    with pytest.raises(FormatError):
        TaskSpec.from_json(spec.canonical_json())


def test_measurements_in_threads_score_their_own_models():
    """Bots run in threads (an operator with many keys) each measure with their own pair of
    models: a pair shared across threads scored one submission with another's theta, and
    approved a vandal (found by benchmarks.network)."""
    from concurrent.futures import ThreadPoolExecutor

    import torch

    from deploy import corpus
    from pogo.model import causal_lm, manifest
    from pogo.protocol import checkpoint
    from verifier.checks import measure
    from workers.trainer import train_plain

    cfg = {"block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 32, "vocab_size": 256, "dropout": 0.0}
    tokens = corpus.load_corpus().tokens[:400_000]
    torch.manual_seed(0)
    net = causal_lm.build(cfg)
    prev = checkpoint.pad(manifest.flatten(net), 1024)
    train_plain(net, tokens, 30, 8, seed=1, lr=3e-3)
    trained = checkpoint.pad(manifest.flatten(net), 1024)
    vandal = (prev + np.random.default_rng(2).normal(0, 0.5, prev.size)).astype(np.float32)
    rules = Verification().rules()
    jobs = [trained, vandal] * 6

    def run(theta):
        m = measure(cfg, 32, prev, theta, tokens[:200_000], tokens[200_000:], b"\x01" * 32, rules)
        return m.reason, m.improvement

    alone = {id(t): run(t) for t in (trained, vandal)}
    assert alone[id(trained)][0] == judgment.OK and alone[id(vandal)][0] == judgment.HARMFUL
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(run, jobs))
    assert together == [alone[id(t)] for t in jobs]
    # Fresh models, as another seat's process builds them (benchmarks.soundness): the same verdict.
    from verifier import checks

    pair = checks._models(cfg, None, None)
    checks.forget_models()
    assert checks._models(cfg, None, None)[0] is not pair[0] and run(trained) == alone[id(trained)]


def test_an_aggregate_of_pieces_each_accepted_alone_but_harmful_together_is_refused():
    """SECURITY.md #28, the attack performed: two colluders split one harmful change into pieces
    on different groups (one scales the final layer norm by 3, the other the output layer by 3:
    the logits by 3 each, by 9 together), each piece riding on half of an honest update. Each
    piece alone is accepted on its real gain; D14 lands both whole, and the aggregate's loss
    check (D15) refuses the average (a judgment: the aggregator followed the rule). Under the
    plain 1/k average the same pieces would have passed; an honest aggregate passes."""
    import torch

    from deploy import corpus
    from pogo.model import causal_lm, manifest
    from pogo.protocol import aggregate, checkpoint, difffile
    from verifier.checks import measure, measure_aggregate
    from workers.trainer import train_plain

    cfg = {"block_size": 32, "n_layer": 1, "n_head": 2, "n_embd": 32, "vocab_size": 256, "dropout": 0.0}
    tokens = corpus.load_corpus().tokens[:400_000]
    train, val, leaf, seed = tokens[:200_000], tokens[200_000:], 1024, b"\x01" * 32
    torch.manual_seed(0)
    net = causal_lm.build(cfg)
    prev = checkpoint.pad(manifest.flatten(net), leaf)
    offsets = {e.name: (e.offset // 32, (e.offset + e.size) // 32) for e in manifest.of_module(net).entries}
    train_plain(net, train, 30, 8, seed=1, lr=3e-3)
    trained = checkpoint.pad(manifest.flatten(net), leaf)
    group = np.arange(prev.size) // 32
    ln_f = (group >= offsets["ln_f.weight"][0]) & (group < offsets["ln_f.weight"][1])
    lm_head = (group >= offsets["lm_head.weight"][0]) & (group < offsets["lm_head.weight"][1])
    rest = ~(ln_f | lm_head)
    a = np.where(ln_f, 3 * trained, np.where(rest & (group % 2 == 0), trained, prev)).astype(np.float32)
    b = np.where(lm_head, 3 * trained, np.where(rest & (group % 2 == 1), trained, prev)).astype(np.float32)
    rules = Verification().rules()
    for piece in (a, b):
        alone = measure(cfg, 32, prev, piece, train, val, seed, rules)
        assert alone.reason == judgment.OK and alone.improvement > 100_000, alone
    diffs = [difffile.make_diff(prev, piece, leaf).diff for piece in (a, b)]
    together = aggregate.aggregate(prev, diffs)
    assert np.array_equal(together[ln_f], prev[ln_f] + diffs[0].dequantize()[ln_f])  # one mover: its whole step
    refused = measure_aggregate(cfg, 32, prev, together, val, seed, rules)
    assert refused.reason == judgment.OVERFIT and refused.improvement < -rules.harm_margin, refused
    plain = (prev + (together - prev) / np.float32(2)).astype(np.float32)  # what the 1/k rule would have landed
    assert measure_aggregate(cfg, 32, prev, plain, val, seed, rules).reason == judgment.OK
    honest = aggregate.aggregate(prev, [difffile.make_diff(prev, trained, leaf).diff] * 2)
    assert measure_aggregate(cfg, 32, prev, honest, val, seed, rules).reason == judgment.OK
