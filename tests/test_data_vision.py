"""Tests of attn_helpers.data.vision and .digits: cluttered digits, both routes' loaders."""

import pytest
import torch
import urllib.error

import attn_helpers as ah
import attn_helpers.data.digits as vd
import attn_helpers.data.vision as vdata


def test_cluttered_digits_boxes_scales_and_values():
    ds = ah.make_cluttered_digits(64, canvas_size=40, scale_range=(1.0, 2.0), clutter=0, seed=3)
    assert len(ds) == 64 and ds.images.shape == (64, 1, 40, 40) and ds.images.dtype == torch.uint8
    x0, y0, x1, y1 = ds.boxes.unbind(1)
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= 40).all() and (y1 <= 40).all()
    torch.testing.assert_close(x1 - x0, torch.round(13 * ds.scales))  # digit_size = 40 // 3
    assert ((ds.scales >= 1.0) & (ds.scales <= 2.0)).all()
    for i in range(64):  # without clutter, all ink lies inside the box
        img = ds.images[i, 0]
        mask = torch.zeros_like(img, dtype=torch.bool)
        mask[int(y0[i]):int(y1[i]), int(x0[i]):int(x1[i])] = True
        assert img[~mask].sum() == 0 and img[mask].sum() > 0
    image, label = ds[0]
    assert image.shape == (3, 40, 40) and image.dtype == torch.float32 and isinstance(label, int)
    assert image.min() >= -1 and image.max() <= 1
    torch.testing.assert_close(image[0], image[2])


def test_exact_scale_and_determinism():
    a = ah.make_cluttered_digits(20, canvas_size=32, scale_range=(1.5, 1.5), seed=1)
    b = ah.make_cluttered_digits(20, canvas_size=32, scale_range=(1.5, 1.5), seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert torch.all(a.boxes[:, 2] - a.boxes[:, 0] == round(10 * 1.5))
    c = ah.make_cluttered_digits(20, canvas_size=32, seed=2)
    assert not torch.equal(a.images, c.images)


def test_train_and_test_use_disjoint_source_digits():
    train_pool, _ = vd._load_digit_pool("train")
    test_pool, _ = vd._load_digit_pool("test")
    assert len(train_pool) + len(test_pool) == 1797
    train_set = {p.tobytes() for p in train_pool}
    assert not any(p.tobytes() in train_set for p in test_pool if p.any())


def test_batch_indexing_matches_single():
    ds = ah.make_cluttered_digits(10, canvas_size=32, seed=0)
    images, labels = ds[[3, 7]]
    assert images.shape == (2, 3, 32, 32) and labels.tolist() == [int(ds.labels[3]), int(ds.labels[7])]
    torch.testing.assert_close(images[1], ds[7][0])


def test_offline_vision_data_loaders():
    data = ah.vision_data("offline", ah.get_profile("smoke"), batch_size=100, canvas_size=32, n_train=250, n_test=120)
    assert data.num_classes == 10 and data.input_shape == (3, 32, 32) and data.route == "offline"
    assert len(data.train_loader) == 2  # 250 // 100, incomplete batch dropped
    assert [y.shape[0] for _, y in data.test_loader] == [100, 20]
    x, y = next(iter(data.train_loader))
    assert x.shape == (100, 3, 32, 32) and y.dtype == torch.int64
    assert data.test_boxes.shape == (120, 4) and data.test_scales.shape == (120,)
    assert "250 train" in data.describe()
    first = next(iter(data.train_loader))[1]
    data.train_loader.generator.manual_seed(0)
    again = next(iter(data.train_loader))[1]
    assert torch.equal(y, again) and first.shape == y.shape


def test_profile_sets_default_sizes():
    data = ah.vision_data("offline", ah.get_profile("smoke"), canvas_size=32)
    assert len(data.train_set) == 512 and len(data.test_set) == 256


class FakeCifar:
    """Stand-in for torchvision's CIFAR10: FakeData with a ``classes`` list."""

    def __new__(cls, *, train, transform, size=300):
        import torchvision

        ds = torchvision.datasets.FakeData(size=size if train else 100, image_size=(3, 32, 32),
                                           num_classes=10, transform=transform, random_offset=0 if train else 1000)
        ds.classes = [f"class{i}" for i in range(10)]
        return ds


def test_real_route_loaders_on_a_stand_in(monkeypatch, tmp_path):
    calls = []

    def fake_fetch(name, root, **kwargs):
        calls.append((name, kwargs.get("train")))
        return FakeCifar(train=kwargs["train"], transform=kwargs["transform"])

    monkeypatch.setattr(vdata, "fetch_torchvision_dataset", fake_fetch)
    data = ah.vision_data("real", ah.get_profile("smoke"), root=tmp_path, batch_size=64, n_train=200, n_test=50)
    assert calls == [("CIFAR10", True), ("CIFAR10", False)]
    assert data.route == "real" and data.image_size == 32 and data.test_boxes is None
    assert len(data.train_set) == 200 and len(data.test_set) == 50
    assert data.class_names[0] == "class0" and data.num_classes == 10
    x, y = next(iter(data.train_loader))
    assert x.shape == (64, 3, 32, 32) and x.dtype == torch.float32 and y.shape == (64,)
    assert x.abs().max() < 5  # normalised
    xt, _ = next(iter(data.test_loader))
    assert xt.shape == (50, 3, 32, 32)


def test_real_route_failed_download_raises_clear_error(monkeypatch, tmp_path):
    class Unreachable:
        def __init__(self, root, download, **kwargs):
            raise urllib.error.URLError("no network")

    real_fetch = vdata.fetch_torchvision_dataset
    monkeypatch.setattr(vdata, "fetch_torchvision_dataset", lambda name, root, **kw: real_fetch(Unreachable, root, **kw))
    with pytest.raises(ah.DatasetUnavailableError, match="ATTN_DATA=offline"):
        ah.vision_data("real", ah.get_profile("smoke"), root=tmp_path)


def test_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        ah.make_cluttered_digits(0)
    with pytest.raises(ValueError, match="scale_range"):
        ah.make_cluttered_digits(4, canvas_size=32, scale_range=(1.0, 4.0))
    with pytest.raises(ValueError, match="scale_range"):
        ah.make_cluttered_digits(4, scale_range=(2.0, 1.0))
    with pytest.raises(ValueError, match="source"):
        ah.make_cluttered_digits(4, source="valid")
    with pytest.raises(ValueError, match="canvas_size"):
        ah.make_cluttered_digits(4, canvas_size=4)
    with pytest.raises(ValueError, match="digit_size"):
        ah.make_cluttered_digits(4, canvas_size=32, digit_size=40)
    with pytest.raises(ValueError, match="clutter"):
        ah.make_cluttered_digits(4, clutter=-1)
    with pytest.raises(ValueError, match="route"):
        ah.vision_data("cloud", ah.get_profile("smoke"))
    with pytest.raises(ValueError, match="dataset"):
        ah.vision_data("offline", ah.get_profile("smoke"), dataset="imagenet")
    with pytest.raises(TypeError, match="profile"):
        ah.vision_data("offline", "smoke")
    with pytest.raises(ValueError, match="batch_size"):
        ah.vision_data("offline", ah.get_profile("smoke"), batch_size=0)


# ------------------------------------------------ the real route on fake files in torchvision's format


@pytest.fixture
def fake_real_root(tmp_path, monkeypatch):
    """A data root with tiny CIFAR-10 and STL-10 trees; torchvision told their MD5s; no network."""
    import socket
    import urllib.request

    import torchvision.datasets
    from _fake_datasets import write_fake_cifar10, write_fake_stl10

    for cls, attributes in ((torchvision.datasets.CIFAR10, write_fake_cifar10(tmp_path)),
                            (torchvision.datasets.STL10, write_fake_stl10(tmp_path))):
        for key, value in attributes.items():
            monkeypatch.setattr(cls, key, value)

    def refuse(*args, **kwargs):
        raise AssertionError("the real route tried to download although the files are there")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return tmp_path


@pytest.mark.parametrize("dataset", ["cifar10", "stl10"])
@pytest.mark.parametrize("device_loader", [False, True])
def test_real_route_on_fake_files_trains_one_step(fake_real_root, dataset, device_loader, capsys):
    from _fake_datasets import CLASS_NAMES

    data = ah.vision_data("real", ah.get_profile("smoke"), dataset=dataset, root=fake_real_root, batch_size=16,
                          n_train=32, n_test=20, device_loader=device_loader)
    size = 32 if dataset == "cifar10" else 96
    assert data.route == "real" and data.dataset == dataset and data.input_shape == (3, size, size)
    assert data.class_names == CLASS_NAMES and data.num_classes == 10 and data.test_boxes is None
    assert len(data.train_loader) == 2 and [y.shape[0] for _, y in data.test_loader] == [16, 4]
    assert isinstance(data.train_loader, ah.DeviceLoader) == device_loader
    assert "Downloading" not in capsys.readouterr().out  # the files were found, nothing fetched
    x, y = next(iter(data.train_loader))
    assert x.shape == (16, 3, size, size) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert ((0 <= y) & (y < 10)).all() and x.abs().max() < 5  # normalised
    model = ah.ResNetCifar(data.num_classes, widths=(8, 8, 8))
    before = [p.detach().clone() for p in model.parameters()]
    history = ah.fit(model, data.train_loader, loss_fn=torch.nn.CrossEntropyLoss(),
                     optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=1, val_loader=data.test_loader,
                     metric=ah.accuracy, device="cpu", progress=False)
    assert history.epochs == 1 and 0 <= history.val_metric[0] <= 1 and history.train_loss[0] > 0
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters()))


@pytest.mark.parametrize("dataset", ["cifar10", "stl10"])
def test_both_real_loaders_give_the_same_test_batches(fake_real_root, dataset):
    kwargs = {"dataset": dataset, "root": fake_real_root, "batch_size": 8, "n_train": 16, "n_test": 12}
    torchvision_path = ah.vision_data("real", ah.get_profile("smoke"), device_loader=False, **kwargs)
    device_path = ah.vision_data("real", ah.get_profile("smoke"), device_loader=True, **kwargs)
    for (x1, y1), (x2, y2) in zip(torchvision_path.test_loader, device_path.test_loader, strict=True):
        torch.testing.assert_close(x1, x2, rtol=0, atol=1e-6)
        assert torch.equal(y1, y2)


def test_real_route_root_defaults_to_attn_data_root(fake_real_root, monkeypatch):
    monkeypatch.setenv("ATTN_DATA_ROOT", str(fake_real_root))
    data = ah.vision_data("real", ah.get_profile("smoke"), batch_size=8, n_train=16, n_test=8)
    assert len(data.train_set) == 16 and data.dataset == "cifar10"
