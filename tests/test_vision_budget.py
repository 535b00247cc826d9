"""Tests of attn_helpers.vision.budget: parameter and FLOP counts, the training harness, the table."""

import pytest
import torch
from torch import nn

import attn_helpers as ah


def test_count_parameters_by_hand():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(4, 2))
    assert ah.count_parameters(model) == (3 * 4 * 9 + 4) + (4 * 2 + 2)
    model[1].weight.requires_grad_(False)
    assert ah.count_parameters(model) == 3 * 4 * 9 + 4 + 2
    assert ah.count_parameters(model, trainable_only=False) == 3 * 4 * 9 + 4 + 10


def test_count_flops_matches_closed_form():
    # conv: 2 * C_out * H_out * W_out * C_in * k * k; linear: 2 * in * out
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5))
    assert ah.count_flops(model, (3, 6, 10)) == 2 * 8 * 6 * 10 * 3 * 9 + 2 * 8 * 5


def test_count_flops_se_adds_its_two_fc_layers_and_keeps_mode():
    base, se = ah.ResNetCifar(10), ah.ResNetCifar(10, block_attention=ah.SqueezeExcite)
    extra = ah.count_flops(se, (3, 16, 16)) - ah.count_flops(base, (3, 16, 16))
    assert extra == sum(2 * 2 * c * max(1, round(c / 16)) for c in (16, 32, 64))
    se.train()
    ah.count_flops(se, (3, 16, 16))
    assert se.training


@pytest.fixture(scope="module")
def tiny_data():
    return ah.vision_data("offline", ah.get_profile("smoke"), canvas_size=16, digit_size=8,
                          n_train=64, n_test=32, batch_size=32)


def test_train_and_evaluate_row_and_reproducibility(tiny_data):
    rows = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ah.ResNetCifar(10, widths=(4, 8, 8))
        rows.append(ah.train_and_evaluate("tiny", model, tiny_data, epochs=2, lr=0.05, device="cpu", progress=False))
    row = rows[0]
    assert row.name == "tiny" and row.device == "cpu" and 0 <= row.accuracy <= 1
    assert row.params == ah.count_parameters(model) and row.flops == ah.count_flops(model, (3, 16, 16))
    assert row.train_seconds > 0 and row.history.epochs == 2
    # Same seed, same batch order: the runs agree up to the order of float reductions in
    # multi-threaded CPU kernels (measured here: up to 1.2e-5 relative).
    assert abs(rows[0].accuracy - rows[1].accuracy) <= 1 / 32  # at most one test image
    assert rows[0].history.train_loss == pytest.approx(rows[1].history.train_loss, rel=1e-3)


def test_constant_schedule_and_validation_curves(tiny_data, monkeypatch):
    # A published recipe reproduced as is: no schedule moves the learning rate; the validation
    # loader gives one loss and accuracy per epoch, and the test set stays for the end.
    def no_schedule(*args, **kwargs):
        raise AssertionError("schedule='constant' must not build a learning-rate schedule")

    monkeypatch.setattr(torch.optim.lr_scheduler, "OneCycleLR", no_schedule)
    torch.manual_seed(0)
    model = ah.ResNetCifar(10, widths=(4, 8, 8))
    row = ah.train_and_evaluate("tiny", model, tiny_data, epochs=2, lr=1e-3, device="cpu", progress=False,
                                optimizer="adamw", weight_decay=0.0, schedule="constant",
                                val_loader=tiny_data.test_loader)
    assert len(row.history.val_loss) == len(row.history.val_metric) == 2
    assert all(0 <= a <= 1 for a in row.history.val_metric)
    _, test_accuracy = ah.evaluate(model, tiny_data.test_loader, torch.nn.CrossEntropyLoss(), ah.accuracy)
    assert row.history.val_metric[-1] == pytest.approx(test_accuracy) == pytest.approx(row.accuracy)
    with pytest.raises(ValueError, match="schedule"):
        ah.train_and_evaluate("x", model, tiny_data, epochs=1, lr=0.1, device="cpu", schedule="cosine")


def test_results_table(tiny_data):
    a = ah.ResultRow("baseline", 0.5, 1000, 2_000_000, 1.0, "cpu")
    b = ah.ResultRow("SE", 0.55, 1100, 2_100_000, 1.2, "cpu")
    table = ah.results_table([a, b], baseline="baseline")
    lines = table.splitlines()
    assert lines[0].startswith("| model | test acc | Δ acc (pts)")
    assert lines[3] == "| SE | 0.5500 | +5.0 | 1,100 | 2.10 | 1.2 | cpu |"
    assert "Δ" not in ah.results_table([a])


def test_bad_input(tiny_data):
    model = ah.ResNetCifar(10, widths=(4, 8, 8))
    with pytest.raises(ValueError, match="input_shape"):
        ah.count_flops(model, (16, 16))
    with pytest.raises(TypeError, match="model"):
        ah.count_parameters("resnet")
    with pytest.raises(TypeError, match="model"):
        ah.count_flops(None, (3, 8, 8))
    with pytest.raises(ValueError, match="epochs"):
        ah.train_and_evaluate("x", model, tiny_data, epochs=0, lr=0.1, device="cpu")
    with pytest.raises(ValueError, match="lr"):
        ah.train_and_evaluate("x", model, tiny_data, epochs=1, lr=-1.0, device="cpu")
    with pytest.raises(ValueError, match="optimizer"):
        ah.train_and_evaluate("x", model, tiny_data, epochs=1, lr=0.1, device="cpu", optimizer="lbfgs")
    with pytest.raises(TypeError, match="data"):
        ah.train_and_evaluate("x", model, [1, 2], epochs=1, lr=0.1, device="cpu")
    with pytest.raises(ValueError, match="rows"):
        ah.results_table([])
    with pytest.raises(ValueError, match="baseline"):
        ah.results_table([ah.ResultRow("a", 0.1, 1, 1, 1.0, "cpu")], baseline="b")


def test_train_paired_pairs_seeds_and_variants():
    import functools

    data = ah.vision_data("offline", ah.get_profile("smoke"), task="cued", canvas_size=24, digit_size=8,
                          n_train=64, n_test=32, batch_size=32)
    builders = {"baseline": lambda: ah.ResNetCifar(10, widths=(4, 8, 8)),
                "SE": lambda: ah.ResNetCifar(10, widths=(4, 8, 8),
                                             block_attention=functools.partial(ah.SqueezeExcite, rd_ratio=1 / 4))}
    rows = ah.train_paired(builders, data, seeds=[0, 1], epochs=1, lr=0.05, device="cpu", progress=False)
    assert list(rows) == ["baseline", "SE"] and all(len(r) == 2 for r in rows.values())
    assert rows["SE"][0].params > rows["baseline"][0].params
    again = ah.train_paired({"baseline": builders["baseline"]}, data, seeds=[1], epochs=1, lr=0.05,
                            device="cpu", progress=False)
    # the same seed gives the same run, whatever ran before it
    assert again["baseline"][0].accuracy == rows["baseline"][1].accuracy
    with pytest.raises(ValueError, match="seeds"):
        ah.train_paired(builders, data, seeds=[], epochs=1, lr=0.05, device="cpu")
    with pytest.raises(ValueError, match="builders"):
        ah.train_paired({}, data, seeds=[0], epochs=1, lr=0.05, device="cpu")


def test_train_paired_resumes_an_interrupted_comparison_to_the_same_table(tmp_path, monkeypatch):
    # Kill the comparison in the middle of the second run (after one of its two epochs),
    # call it again with the same run_dir: the finished run is read back, the interrupted
    # one resumes from its checkpoint, and the table equals an uninterrupted call's.
    import functools

    from attn_helpers.vision import budget

    data = ah.vision_data("offline", ah.get_profile("smoke"), task="cued", canvas_size=24, digit_size=8,
                          n_train=96, n_test=32, batch_size=32)
    builders = {"baseline": lambda: ah.ResNetCifar(10, widths=(4, 8, 8)),
                "SE": lambda: ah.ResNetCifar(10, widths=(4, 8, 8),
                                             block_attention=functools.partial(ah.SqueezeExcite, rd_ratio=1 / 4))}
    kwargs = dict(seeds=[0], epochs=2, lr=0.05, device="cpu", progress=False)
    reference = ah.train_paired(builders, data, **kwargs)

    real_fit, calls = budget.fit, []

    def fit_killed_in_second_run(*args, **kw):
        calls.append(kw["desc"])
        if len(calls) == 2:
            def kill(epoch, history):
                raise KeyboardInterrupt  # stands in for a Colab disconnect
            kw["on_epoch_end"] = kill
        return real_fit(*args, **kw)

    monkeypatch.setattr(budget, "fit", fit_killed_in_second_run)
    with pytest.raises(KeyboardInterrupt):
        ah.train_paired(builders, data, run_dir=tmp_path, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SE-seed0.ckpt", "baseline-seed0.json"]
    monkeypatch.setattr(budget, "fit", real_fit)

    resumed = ah.train_paired(builders, data, run_dir=tmp_path, **kwargs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["SE-seed0.json", "baseline-seed0.json"]
    for name in builders:
        assert resumed[name][0].accuracy == reference[name][0].accuracy
        assert resumed[name][0].history.train_loss == pytest.approx(reference[name][0].history.train_loss, rel=1e-5)
    # a third call trains nothing: every run is read back
    monkeypatch.setattr(budget, "fit", lambda *a, **k: pytest.fail("a finished run was trained again"))
    again = ah.train_paired(builders, data, run_dir=tmp_path, **kwargs)
    assert [r.accuracy for r in again["SE"]] == [r.accuracy for r in resumed["SE"]]
