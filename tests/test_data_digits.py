"""Tests of attn_helpers.data.digits: the cued-digits task (the cluttered task is tested in test_data_vision.py)."""

import pytest
import torch

import attn_helpers as ah


def _ink_inside(image, box):
    x0, y0, x1, y1 = (int(v) for v in box)
    return image[:, y0:y1, x0:x1]


def test_cued_digits_boxes_labels_colours_and_frame():
    ds = ah.make_cued_digits(40, canvas_size=32, digit_size=10, distractors=2, cue_width=2, seed=1)
    assert ds.images.shape == (40, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.boxes.shape == (40, 4) and ds.distractor_boxes.shape == (40, 2, 4)
    assert ds.distractor_labels.shape == (40, 2) and ds.target_colours.shape == (40,)
    palette = torch.tensor(list(ah.CUE_COLOURS.values()))
    for i in range(40):
        # distinct classes: a model reading a distractor is always wrong
        classes = [int(ds.labels[i]), *ds.distractor_labels[i].tolist()]
        assert len(set(classes)) == 3
        # the frame has the target's colour
        colour = palette[ds.target_colours[i]]
        frame_pixel = ds.images[i, :, 0, 0].float() / 255
        torch.testing.assert_close(frame_pixel, colour)
        assert (ds.images[i, :, 1, 16].float() / 255 == colour).all()  # frame is 2 px wide
        # all boxes lie inside the frame and do not overlap
        boxes = torch.cat([ds.boxes[i:i + 1], ds.distractor_boxes[i]])
        assert (boxes[:, :2] >= 3).all() and (boxes[:, 2:] <= 29).all()
        for a in range(3):
            for b in range(a):
                overlap_x = min(boxes[a, 2], boxes[b, 2]) - max(boxes[a, 0], boxes[b, 0])
                overlap_y = min(boxes[a, 3], boxes[b, 3]) - max(boxes[a, 1], boxes[b, 1])
                assert overlap_x <= 0 or overlap_y <= 0
        # the target's ink is in the target's colour: zero in the other channels
        target_ink = _ink_inside(ds.images[i].float(), ds.boxes[i])
        assert target_ink.sum() > 0
        assert target_ink[colour == 0].sum() == 0
    # everything between frame and digits is dark: ink only inside the boxes
    inner = ds.images[:, :, 2:-2, 2:-2].clone()
    for i in range(40):
        for box in torch.cat([ds.boxes[i:i + 1], ds.distractor_boxes[i]]):
            x0, y0, x1, y1 = (int(v) - 2 for v in box)
            inner[i, :, y0:y1, x0:x1] = 0
    assert inner.sum() == 0


def test_no_cue_control_and_determinism():
    a = ah.make_cued_digits(10, canvas_size=24, digit_size=8, cue_width=0, seed=3)
    b = ah.make_cued_digits(10, canvas_size=24, digit_size=8, cue_width=0, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.images[:, :, 0, :].sum() == 0 or a.cue_width == 0  # no frame drawn
    assert a.cue_width == 0


def test_cued_batches_through_vision_data():
    data = ah.vision_data("offline", ah.get_profile("smoke"), task="cued", canvas_size=24, digit_size=8,
                          n_train=130, n_test=70, batch_size=64)
    x, y = next(iter(data.train_loader))
    assert x.shape == (64, 3, 24, 24) and y.shape == (64,) and x.min() >= -1 and x.max() <= 1
    assert data.test_boxes.shape == (70, 4) and data.test_distractor_boxes.shape == (70, 1, 4)
    cluttered = ah.vision_data("offline", ah.get_profile("smoke"), canvas_size=24, n_train=130, n_test=70)
    assert cluttered.test_distractor_boxes is None


@pytest.mark.parametrize("kwargs, match", [
    (dict(distractors=6), "distractors"),
    (dict(distractors=2, colours=2), "colours"),
    (dict(cue_width=20), "cue_width"),
    (dict(n=0), "n must"),
    (dict(canvas_size=16, digit_size=8, distractors=2), "without overlap"),
    (dict(source="val"), "source"),
])
def test_bad_arguments_are_named(kwargs, match):
    args = dict(n=4, canvas_size=32, digit_size=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ah.make_cued_digits(**args)
