"""Tests of attn_helpers.training: History, accuracy, evaluate and fit (incl. kill and resume)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader

from _resume_job import EPOCHS, build, train
from attn_helpers import History, accuracy, evaluate, fit, load_checkpoint, seed_everything

TESTS_DIR = Path(__file__).resolve().parent


def _linear(weight: float, bias: float) -> nn.Linear:
    layer = nn.Linear(1, 1)
    with torch.no_grad():
        layer.weight.fill_(weight)
        layer.bias.fill_(bias)
    return layer


def _regression_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Two batches of unequal size; with y_hat = 2x the errors are (1, 0, 0) and (1)."""
    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = torch.tensor([[3.0], [4.0], [6.0], [9.0]])
    return [(x[:3], y[:3]), (x[3:], y[3:])]


def _mean_abs_error(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return (outputs - targets).abs().mean()


# -------------------------------------------------------------------------------- History


def test_history_epochs_and_as_dict() -> None:
    history = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], val_metric=[0.2, 0.4], epoch_seconds=[1, 2])
    assert history.epochs == 2
    assert history.as_dict() == {
        "train_loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "val_metric": [0.2, 0.4], "epoch_seconds": [1, 2],
    }
    assert History(**history.as_dict()) == history
    assert History().epochs == 0
    assert History().train_loss is not History().train_loss  # no shared default lists


# ------------------------------------------------------------------------------- accuracy


def test_accuracy_against_hand_count() -> None:
    logits = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 4.0], [5.0, 0.0, 0.0]])
    targets = torch.tensor([0, 1, 0, 2])  # right, right, wrong (argmax 2), wrong (argmax 0)
    result = accuracy(logits, targets)
    assert result.dim() == 0 and result.dtype == torch.float32
    assert result.item() == 0.5


def test_accuracy_over_a_sequence_dimension() -> None:
    logits = torch.zeros(2, 3, 4)
    logits[0, :, 1] = 1.0  # sample 0 predicts class 1 at every position
    logits[1, :, 3] = 1.0  # sample 1 predicts class 3
    targets = torch.tensor([[1, 1, 0], [3, 2, 3]])
    assert accuracy(logits, targets).item() == pytest.approx(4 / 6)


@pytest.mark.parametrize("targets", [torch.tensor([[0], [1]]), torch.tensor([0, 1, 1]), torch.tensor(0)])
def test_accuracy_rejects_targets_of_the_wrong_shape(targets: torch.Tensor) -> None:
    # (2, 1) targets against (2, C) logits used to broadcast to a (2, 2) comparison.
    with pytest.raises(ValueError, match=r"targets must have shape \(2\)"):
        accuracy(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), targets)


def test_accuracy_rejects_non_tensors_and_scalar_logits() -> None:
    with pytest.raises(TypeError, match="logits must be a torch.Tensor"):
        accuracy([[0.0, 1.0]], torch.tensor([1]))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="targets must be a torch.Tensor"):
        accuracy(torch.tensor([[0.0, 1.0]]), [1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="logits must have a class dimension"):
        accuracy(torch.tensor(1.0), torch.tensor(1))


# ------------------------------------------------------------------------------- evaluate


def test_evaluate_weights_batches_by_their_size() -> None:
    # Per-sample squared errors 1, 0, 0, 1 -> 0.5 (the mean of batch means would be 2/3).
    loss, metric = evaluate(_linear(2.0, 0.0), _regression_batches(), F.mse_loss, _mean_abs_error)
    assert loss == pytest.approx(0.5)
    assert metric == pytest.approx(0.5)


def test_evaluate_without_metric_returns_nan() -> None:
    loss, metric = evaluate(_linear(2.0, 0.5), _regression_batches(), F.mse_loss)
    # errors with y_hat = 2x + 0.5: (-0.5, 0.5, 0.5, -0.5) -> squared mean 0.25
    assert loss == pytest.approx(0.25)
    assert math.isnan(metric)


def test_evaluate_with_accuracy_on_a_data_loader() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [2.0, 0.0], [0.0, 2.0], [2.0, 0.0]])
    targets = torch.tensor([0, 1, 1, 1, 1])  # 3 of 5 right
    model = nn.Identity()
    loader = DataLoader(list(zip(logits, targets)), batch_size=2)
    loss, acc = evaluate(model, loader, F.cross_entropy, accuracy)
    assert acc == pytest.approx(3 / 5)
    assert loss == pytest.approx(F.cross_entropy(logits, targets).item(), rel=1e-6)


def test_evaluate_uses_eval_mode_without_grad_and_restores_the_mode() -> None:
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(p=0.9))
    x = torch.randn(64, 3)
    expected = F.mse_loss(model.eval()(x), torch.zeros(64, 3)).item()
    grad_enabled: list[bool] = []

    def loss_fn(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        grad_enabled.append(torch.is_grad_enabled())
        return F.mse_loss(outputs, targets)

    model.train()
    loss, _ = evaluate(model, [(x, torch.zeros(64, 3))], loss_fn)
    assert loss == pytest.approx(expected)  # dropout was off
    assert grad_enabled == [False]
    assert model.training  # mode restored
    model.eval()
    evaluate(model, [(x, torch.zeros(64, 3))], loss_fn)
    assert not model.training


def test_evaluate_on_an_empty_loader_raises() -> None:
    with pytest.raises(ValueError, match="loader yielded no batches"):
        evaluate(_linear(1.0, 0.0), [], F.mse_loss)


# ----------------------------------------------------------------------------- fit basics


def test_fit_learns_a_line_and_records_history() -> None:
    seed_everything(0)
    x = torch.linspace(-1, 1, 64)[:, None]
    y = 3 * x - 1
    model = nn.Linear(1, 1)
    batches = [(x[i::4], y[i::4]) for i in range(4)]
    history = fit(
        model, batches, loss_fn=F.mse_loss,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.3), epochs=25,
        val_loader=[(x, y)], metric=_mean_abs_error, progress=False, device="cpu",
    )
    assert history.epochs == 25
    assert len(history.val_loss) == len(history.val_metric) == len(history.epoch_seconds) == 25
    assert all(s >= 0 for s in history.epoch_seconds)
    assert history.train_loss[-1] < 1e-3 * history.train_loss[0]
    assert model.weight.item() == pytest.approx(3.0, abs=1e-2)
    assert model.bias.item() == pytest.approx(-1.0, abs=1e-2)
    assert history.val_metric[-1] < 0.02


def test_fit_without_val_loader_or_metric() -> None:
    model = _linear(0.0, 0.0)
    history = fit(model, _regression_batches(), loss_fn=F.mse_loss,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.01), epochs=2, progress=False)
    assert history.epochs == 2 and history.val_loss == [] and history.val_metric == []
    model = _linear(0.0, 0.0)
    history = fit(model, _regression_batches(), loss_fn=F.mse_loss, val_loader=_regression_batches(),
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.01), epochs=2, progress=False)
    assert len(history.val_loss) == 2 and all(math.isnan(m) for m in history.val_metric)


def test_fit_train_loss_is_the_sample_weighted_mean_of_the_epoch() -> None:
    model = _linear(2.0, 0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)  # no update: losses as evaluated
    history = fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=optimizer, epochs=1,
                  progress=False)
    assert history.train_loss == [pytest.approx(0.5)]


def test_fit_steps_the_scheduler_after_every_optimisation_step() -> None:
    model = _linear(0.0, 0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=optimizer, scheduler=scheduler,
        epochs=3, progress=False)
    assert optimizer.param_groups[0]["lr"] == 0.5 ** 6  # 2 batches x 3 epochs


def test_fit_passes_tuple_inputs_as_positional_arguments() -> None:
    class TwoInputs(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.left = nn.Linear(2, 1)
            self.right = nn.Linear(3, 1)
            self.seen: list[tuple[tuple[int, ...], tuple[int, ...]]] = []

        def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
            self.seen.append((tuple(left.shape), tuple(right.shape)))
            return self.left(left) + self.right(right)

    seed_everything(0)
    samples = [((torch.randn(2), torch.randn(3)), torch.randn(1)) for _ in range(8)]
    model = TwoInputs()
    history = fit(model, DataLoader(samples, batch_size=4), loss_fn=F.mse_loss,
                  optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=1,
                  val_loader=[((torch.randn(5, 2), torch.randn(5, 3)), torch.randn(5, 1))], progress=False)
    assert model.seen == [((4, 2), (4, 3))] * 2 + [((5, 2), (5, 3))]
    assert history.epochs == 1 and len(history.val_loss) == 1


def test_fit_clips_the_gradient_norm() -> None:
    x, y = torch.ones(4, 3), torch.full((4, 1), 100.0)  # a huge gradient

    def step_size(grad_clip: float | None) -> float:
        model = nn.Linear(3, 1)
        with torch.no_grad():
            model.weight.zero_()
            model.bias.zero_()
        before = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
        fit(model, [(x, y)], loss_fn=F.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=1.0),
            epochs=1, grad_clip=grad_clip, progress=False)
        after = torch.cat([p.detach().flatten() for p in model.parameters()])
        return (after - before).norm().item()

    assert step_size(None) > 100
    assert step_size(0.5) == pytest.approx(0.5, rel=1e-4)


def test_fit_calls_on_epoch_end_after_writing_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    calls: list[tuple[int, int, int]] = []

    def on_epoch_end(epoch: int, history: History) -> None:
        calls.append((epoch, history.epochs, load_checkpoint(path)["epoch"]))

    model = _linear(0.0, 0.0)
    fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=3, checkpoint_path=path, on_epoch_end=on_epoch_end, progress=False)
    assert calls == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]
    state = load_checkpoint(path)
    assert {"model", "optimizer", "scaler", "history", "epoch", "rng"} <= state.keys()
    assert torch.equal(state["model"]["weight"], model.weight.detach())


def test_fit_shows_a_progress_bar(capsys: pytest.CaptureFixture[str]) -> None:
    model = _linear(0.0, 0.0)
    fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=2, progress=True, desc="my-run")
    err = capsys.readouterr().err
    assert "my-run" in err and "4/4" in err  # 2 batches x 2 epochs


# ------------------------------------------------------------------------- fit bad input


@pytest.mark.parametrize("epochs", [0, -1, 2.0, True, "3", None])
def test_fit_rejects_bad_epochs(epochs: Any) -> None:
    model = _linear(0.0, 0.0)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=epochs, progress=False)


@pytest.mark.parametrize(("grad_clip", "error"), [(0.0, ValueError), (-1.0, ValueError), ("1", TypeError)])
def test_fit_rejects_bad_grad_clip(grad_clip: Any, error: type[Exception]) -> None:
    model = _linear(0.0, 0.0)
    with pytest.raises(error, match="grad_clip"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, grad_clip=grad_clip, progress=False)


def test_fit_on_an_empty_loader_raises() -> None:
    model = _linear(0.0, 0.0)
    with pytest.raises(ValueError, match="train_loader yielded no batches"):
        fit(model, [], loss_fn=F.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            epochs=1, progress=False)


def test_non_finite_loss_raises_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    model = _linear(0.0, 0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=optimizer, epochs=1,
        checkpoint_path=path, progress=False)

    def exploding(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs, targets) * float("inf")

    with pytest.raises(FloatingPointError, match="training loss became (inf|nan) in epoch 2"):
        fit(model, _regression_batches(), loss_fn=exploding, optimizer=optimizer, epochs=3,
            checkpoint_path=path, progress=False)
    assert load_checkpoint(path)["epoch"] == 1


# --------------------------------------------------------------------- checkpoint / resume


def test_resume_from_a_finished_checkpoint_does_not_train(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    model, history = train(False, checkpoint_path=path, epochs=3)
    trained = {k: v.clone() for k, v in model.state_dict().items()}

    fresh, train_loader, val_loader, optimizer, scheduler = build(False)
    with torch.no_grad():
        for p in fresh.parameters():
            p.zero_()
    calls: list[int] = []

    def counting_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        return F.cross_entropy(outputs, targets)

    for epochs in (3, 2):  # checkpoint epoch == epochs, and > epochs
        resumed = fit(fresh, train_loader, loss_fn=counting_loss, optimizer=optimizer, epochs=epochs,
                      val_loader=val_loader, scheduler=scheduler, checkpoint_path=path,
                      on_epoch_end=lambda e, h: calls.append(e), progress=False)
        assert calls == []
        assert resumed.as_dict() == history.as_dict()
        for name, value in fresh.state_dict().items():
            assert torch.equal(value, trained[name]), name


def test_resume_false_ignores_the_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "ckpt.pt"
    train(False, checkpoint_path=path, epochs=2)
    reference, reference_history = train(False, epochs=1)
    model, train_loader, val_loader, optimizer, scheduler = build(False)
    history = fit(model, train_loader, loss_fn=F.cross_entropy, optimizer=optimizer, epochs=1,
                  val_loader=val_loader, metric=accuracy, scheduler=scheduler, checkpoint_path=path,
                  resume=False, progress=False)
    assert history.epochs == 1
    assert history.train_loss == reference_history.train_loss
    for name, value in model.state_dict().items():
        assert torch.equal(value, reference.state_dict()[name]), name
    assert load_checkpoint(path)["epoch"] == 1  # overwritten by the fresh run


class _Interrupted(Exception):
    pass


def _assert_resumed_run_equals_reference(use_generator: bool, checkpoint: Path) -> None:
    at_interruption = load_checkpoint(checkpoint)
    assert at_interruption["epoch"] == 2 and len(at_interruption["history"]["train_loss"]) == 2

    reference_model, reference_history = train(use_generator)  # uninterrupted, no checkpoint
    resumed_epochs: list[int] = []
    resumed_model, resumed_history = train(
        use_generator, checkpoint_path=checkpoint, on_epoch_end=lambda e, h: resumed_epochs.append(e)
    )

    assert resumed_epochs == [3, 4]  # epochs 1 and 2 came from the checkpoint
    assert resumed_history.epochs == EPOCHS == 4
    reference_state = reference_model.state_dict()
    for name, value in resumed_model.state_dict().items():
        assert torch.equal(value, reference_state[name]), f"{name} differs after resuming"
        assert not torch.equal(at_interruption["model"][name], reference_state[name])  # 3-4 trained
    assert resumed_history.train_loss == reference_history.train_loss
    assert resumed_history.val_loss == reference_history.val_loss
    assert resumed_history.val_metric == reference_history.val_metric
    assert load_checkpoint(checkpoint)["epoch"] == 4


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_killed_run_resumes_to_the_same_weights(tmp_path: Path) -> None:
    """SIGKILL after epoch 2 (checkpoint written), resume: same weights as never stopping.

    The loader shuffles with its own generator (``DataLoader(generator=...)``) and the
    model uses dropout, so both the loader's and the global RNG state must come back.
    """
    checkpoint = tmp_path / "run.pt"
    script = tmp_path / "killed_run.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS_DIR)!r})
        from _resume_job import train_and_kill
        train_and_kill({str(checkpoint)!r}, use_generator=True, kill_after=2)
    """))
    env = {k: v for k, v in os.environ.items() if k not in ("ATTN_PROFILE", "ATTN_DATA")}
    killed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=300, env=env, cwd=tmp_path)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    _assert_resumed_run_equals_reference(True, checkpoint)


@pytest.mark.parametrize("use_generator", [False, True], ids=["global-rng-shuffle", "loader-generator"])
def test_an_interrupted_run_resumes_to_the_same_weights(tmp_path: Path, use_generator: bool) -> None:
    """The same in-process (an exception after epoch 2), for both ways of shuffling."""
    checkpoint = tmp_path / "run.pt"

    def interrupt(epoch: int, history: History) -> None:
        if epoch == 2:
            torch.rand(7)  # whatever happens after the checkpoint must not matter
            raise _Interrupted

    with pytest.raises(_Interrupted):
        train(use_generator, checkpoint_path=checkpoint, on_epoch_end=interrupt)
    _assert_resumed_run_equals_reference(use_generator, checkpoint)


def _sgd(model: nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=0.01)


def test_fit_without_an_optimizer_is_named() -> None:
    # optimizer=None used to end in AttributeError: 'NoneType' object has no attribute 'zero_grad'
    model = _linear(0.0, 0.0)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer .*got NoneType"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=None, epochs=1, progress=False)  # type: ignore[arg-type]


def test_a_loss_that_is_not_one_number_is_named() -> None:
    # reduction="none" used to end in autograd's "grad can be implicitly created only for scalar outputs"
    model = _linear(0.0, 0.0)

    def per_sample(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(outputs, targets, reduction="none")

    with pytest.raises(ValueError, match=r"loss_fn must return a 0-D tensor .*got shape \(3, 1\)"):
        fit(model, _regression_batches(), loss_fn=per_sample, optimizer=_sgd(model), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"loss_fn must return a 0-D tensor .*got float"):
        evaluate(model, _regression_batches(), lambda o, t: 0.5)  # type: ignore[arg-type,return-value]


@pytest.mark.parametrize("val_loader", [[], DataLoader(list(range(0)), batch_size=2)], ids=["list", "DataLoader"])
def test_an_empty_val_loader_is_named_before_training(val_loader: Any) -> None:
    model = _linear(0.0, 0.0)
    before = model.weight.detach().clone()
    with pytest.raises(ValueError, match="val_loader yielded no batches"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(model), epochs=1,
            val_loader=val_loader, progress=False)
    assert torch.equal(model.weight, before)  # refused before the first step


def test_an_empty_val_loader_without_len_is_named_when_it_runs() -> None:
    model = _linear(0.0, 0.0)
    with pytest.raises(ValueError, match="val_loader yielded no batches"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(model), epochs=1,
            val_loader=iter([]), progress=False)
    with pytest.raises(ValueError, match="^loader yielded no batches"):
        evaluate(model, iter([]), F.mse_loss)


@pytest.mark.parametrize("device", ["tpu", "gpu", 3.5])
def test_fit_with_a_device_that_is_not_one_is_named(device: Any) -> None:
    # fit(device="tpu") used to end in torch's raw RuntimeError
    model = _linear(0.0, 0.0)
    with pytest.raises(ValueError, match=r"device=.* is not a device"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(model), epochs=1,
            device=device, progress=False)


@pytest.mark.parametrize(("argument", "value", "error", "message"), [
    ("model", "net", TypeError, "model must be a torch.nn.Module, got str"),
    ("loss_fn", "mse", TypeError, "loss_fn must be a function"),
    ("metric", 1, TypeError, "metric must be None or a function"),
    ("on_epoch_end", 1, TypeError, "on_epoch_end must be None or a function"),
    ("train_loader", 5, TypeError, "train_loader must be an iterable"),
    ("checkpoint_path", 5, TypeError, "checkpoint_path must be a file path"),
])
def test_fit_arguments_of_the_wrong_kind_are_named(argument: str, value: object, error: type[Exception],
                                                   message: str) -> None:
    model = _linear(0.0, 0.0)
    kwargs: dict[str, Any] = {"model": model, "train_loader": _regression_batches(), "loss_fn": F.mse_loss,
                              "optimizer": _sgd(model), "epochs": 1, "progress": False, argument: value}
    with pytest.raises(error, match=message):
        fit(**kwargs)


def test_a_directory_as_checkpoint_path_is_named_before_training(tmp_path: Path) -> None:
    model = _linear(0.0, 0.0)
    with pytest.raises(IsADirectoryError, match="checkpoint_path=.* is a directory"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(model), epochs=1,
            checkpoint_path=tmp_path, progress=False)


def test_resuming_from_a_file_fit_did_not_write_is_named(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    model = _linear(0.0, 0.0)
    torch.save(model.state_dict(), path)  # a bare state_dict: used to end in KeyError 'model'
    with pytest.raises(ValueError, match=r"checkpoint_path=.* was not written by fit \(it lacks \['model'"):
        fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(model), epochs=1,
            checkpoint_path=path, progress=False)
    fit(model, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(model), epochs=1,
        checkpoint_path=path, resume=False, progress=False)  # the way out the message names
    assert load_checkpoint(path)["epoch"] == 1


@pytest.mark.parametrize("other", [nn.Linear(2, 1), nn.Sequential(nn.Linear(1, 4), nn.Linear(4, 1))],
                         ids=["size mismatch", "other layers"])
def test_resuming_another_models_checkpoint_is_named(tmp_path: Path, other: nn.Module) -> None:
    path = tmp_path / "ckpt.pt"
    small = _linear(0.0, 0.0)
    fit(small, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(small), epochs=1,
        checkpoint_path=path, progress=False)
    with pytest.raises(ValueError, match=r"checkpoint_path=.* holds another model's or optimizer's state"):
        fit(other, _regression_batches(), loss_fn=F.mse_loss, optimizer=_sgd(other), epochs=2,
            checkpoint_path=path, progress=False)
