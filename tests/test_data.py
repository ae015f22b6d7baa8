"""Data loading: digits' fixed split and normalization, seeded subsets, batched crop/flip, and
the downloads, served as tiny files in the REAL formats (gzipped IDX; a tar.gz of CIFAR-style
pickled batches) from an HTTP server on 127.0.0.1: parsing, caching, and hash / truncation
failures that leave nothing behind."""

import gzip
import hashlib
import http.server
import io
import pickle
import re
import struct
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from noise_injection.networks import data as D

# --- digits, subsets, augmentation ------------------------------------------------------


def test_digits_fixed_split_and_normalization():
    a = D.load_dataset("digits", seed=0)
    b = D.load_dataset("digits", seed=1)
    assert a.x_train.shape == (1297, 1, 8, 8) and a.x_test.shape == (500, 1, 8, 8)
    assert a.x_train.dtype == torch.float32 and a.y_train.dtype == torch.int64
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.x_train, b.x_train)
    assert a.in_shape == (1, 8, 8) and a.num_classes == 10
    assert sorted(a.y_test.unique().tolist()) == list(range(10))
    # per-channel standardization with the training set's own statistics
    assert float(a.x_train.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(a.x_train.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)
    raw = D.load_dataset("digits", raw_pixels=True)
    assert raw.x_train.dtype == torch.uint8 and int(raw.x_train.max()) == 16
    assert torch.allclose(raw.normalize(raw.x_train), a.x_train, atol=1e-6)
    with pytest.raises(TypeError):
        a.normalize(a.x_train)


def test_normalization_choices_against_scikit_learns_pixels():
    # Oracle: scikit-learn's own digits arrays (pixels 0..16), transformed by hand.
    from sklearn.datasets import load_digits

    pixels = load_digits().images[: D.DIGITS_NUM_TRAIN].astype(np.float64) / 16.0
    unit = D.load_dataset("digits", normalization="unit_interval")
    assert unit.mean == (0.0,) and unit.std == (1.0,)
    assert np.allclose(unit.x_train[:, 0].numpy(), pixels, atol=1e-7)
    given = D.load_dataset("digits", normalization={"mean": [0.25], "std": [0.5]})
    assert np.allclose(given.x_train[:, 0].numpy(), (pixels - 0.25) / 0.5, atol=1e-6)
    raw = D.load_dataset("digits", raw_pixels=True, normalization="unit_interval")
    assert torch.allclose(raw.normalize(raw.x_train), unit.x_train)


@pytest.mark.parametrize("bad", ["standardize", {"mean": [0.5, 0.5], "std": [0.2, 0.2]},
                                 {"mean": [0.5], "std": [0.0]}, {"mean": [0.5]}])
def test_bad_normalization_is_rejected(bad):
    with pytest.raises(ValueError, match="normalization"):
        D.load_dataset("digits", normalization=bad)


def test_digits_are_scikit_learns_digits():
    from sklearn.datasets import load_digits

    digits = load_digits()
    raw = D.load_dataset("digits", raw_pixels=True)
    images = np.concatenate([raw.x_train.numpy(), raw.x_test.numpy()])[:, 0]
    labels = np.concatenate([raw.y_train.numpy(), raw.y_test.numpy()])
    assert np.array_equal(images, digits.images.astype(np.uint8))
    assert np.array_equal(labels, digits.target)


def test_train_subset_is_seeded_and_keeps_labels_and_normalization():
    full = D.load_dataset("digits")
    sub = D.load_dataset("digits", train_subset=200, seed=3)
    same = D.load_dataset("digits", train_subset=200, seed=3)
    other = D.load_dataset("digits", train_subset=200, seed=4)
    idx = D.subset_indices(1297, 200, 3)
    assert len(set(idx.tolist())) == 200
    assert torch.equal(sub.x_train, full.x_train[idx])
    assert torch.equal(sub.y_train, full.y_train[idx])
    assert torch.equal(sub.x_train, same.x_train)
    assert not torch.equal(sub.x_train, other.x_train)
    assert sub.mean == full.mean and sub.std == full.std  # independent of the subset
    with pytest.raises(ValueError):
        D.load_dataset("digits", train_subset=5000)


def test_random_crop_flip_gives_shifted_and_flipped_crops_of_the_padded_image():
    p = 2
    x = torch.randint(1, 256, (200, 3, 6, 5), dtype=torch.uint8)  # no zeros in the images
    out = D.random_crop_flip(x, padding=p, generator=torch.Generator().manual_seed(0))
    again = D.random_crop_flip(x, padding=p, generator=torch.Generator().manual_seed(0))
    assert out.dtype == torch.uint8 and out.shape == x.shape and torch.equal(out, again)
    padded = torch.nn.functional.pad(x, (p, p, p, p))
    seen = set()
    for img, pad in zip(out, padded):
        matches = [(dy, dx, f) for dy in range(2 * p + 1) for dx in range(2 * p + 1)
                   for f in (False, True)
                   if torch.equal(img, (lambda c: c.flip(2) if f else c)(
                       pad[:, dy:dy + 6, dx:dx + 5]))]
        assert matches, "an output is not a (flipped) crop of the padded input"
        seen.update(matches)
    # all 25 offsets and both flips occur among 200 images
    assert {(dy, dx) for dy, dx, _ in seen} == {(i, j) for i in range(5) for j in range(5)}
    assert {f for *_, f in seen} == {False, True}
    # standard NCHW strides, also for one channel (torch's CPU conv backward needs them)
    one_channel = D.random_crop_flip(x[:, :1], padding=p)
    assert one_channel.stride() == torch.empty(one_channel.shape).stride()


def test_unknown_dataset_and_bad_idx_are_refused():
    with pytest.raises(ValueError, match="unknown data set"):
        D.load_dataset("mnist")
    with pytest.raises(ValueError, match="magic"):
        D.parse_idx(b"\x00\x00\x0d\x01" + struct.pack(">i", 1) + b"\x00" * 4)
    with pytest.raises(ValueError, match="header"):
        D.parse_idx(b"\x00\x00\x08\x01" + struct.pack(">i", 5) + b"\x00" * 4)


# --- tiny files in the real formats -----------------------------------------------------


def idx_gz(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}i", *array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def cifar_tar_gz(batches: dict[str, dict]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, batch in batches.items():
            payload = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


class Evil:
    """A pickle that would create a file when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.fixture(scope="module")
def tiny():
    """Tiny FashionMNIST and CIFAR-10 data sets (arrays) and their files."""
    rng = np.random.default_rng(0)
    f = {"train_images": rng.integers(0, 256, (30, 28, 28)),
         "train_labels": rng.integers(0, 10, 30),
         "test_images": rng.integers(0, 256, (8, 28, 28)), "test_labels": rng.integers(0, 10, 8)}
    fashion_files = {D.FASHION_MNIST_FILES[k][0]: idx_gz(v) for k, v in f.items()}
    c = {name: {b"batch_label": name.encode(),
                b"data": rng.integers(0, 256, (4, 3072)).astype(np.uint8),
                b"labels": rng.integers(0, 10, 4).tolist(),
                b"filenames": [b"img.png"] * 4}
         for name in (*D.CIFAR10_TRAIN_BATCHES, D.CIFAR10_TEST_BATCH)}
    return {"fashion": f, "fashion_files": fashion_files, "cifar": c,
            "cifar_archive": cifar_tar_gz(c)}


class Server:
    """Serves ``files[path]`` bytes; paths under /cut/ announce the full length but send half
    and hang up (a truncated transfer). Counts GET requests."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests = files, []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            timeout = 10

            def do_GET(self):
                outer.requests.append(self.path)
                body = outer.files.get(self.path.replace("/cut/", "/good/"))
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if self.path.startswith("/cut/")
                                 else body)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive()


@pytest.fixture(scope="module")
def server(tiny):
    files = {}
    for name, body in [*tiny["fashion_files"].items(),
                       (D.CIFAR10_ARCHIVE[0], tiny["cifar_archive"])]:
        files[f"/good/{name}"] = body
        files[f"/corrupt/{name}"] = body[:-1] + bytes([body[-1] ^ 0xFF])
        files[f"/short/{name}"] = body[: len(body) // 2]
    with Server(files) as srv:
        yield srv


@pytest.fixture
def pinned(tiny, monkeypatch):
    """Pin the hashes of the tiny files in place of the official ones."""
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    monkeypatch.setattr(D, "FASHION_MNIST_FILES", {
        k: (name, sha(tiny["fashion_files"][name]))
        for k, (name, _) in D.FASHION_MNIST_FILES.items()})
    monkeypatch.setattr(D, "CIFAR10_ARCHIVE",
                        (D.CIFAR10_ARCHIVE[0], sha(tiny["cifar_archive"])))


def test_official_hashes_are_pinned():
    """Five distinct SHA-256 digests in hashlib's form (64 lowercase hex digits), one per
    file name: a placeholder, a copy-paste twin or an upper-case digest (never equal to
    ``hexdigest()``) fails."""
    pinned = dict([*D.FASHION_MNIST_FILES.values(), D.CIFAR10_ARCHIVE])
    assert len(pinned) == 5
    for name, sha in pinned.items():
        assert re.fullmatch(r"[0-9a-f]{64}", sha), name
    assert len(set(pinned.values())) == 5


def test_fashion_mnist_is_parsed_and_cached(server, tiny, pinned, tmp_path):
    root = tmp_path / "data"
    before = len(server.requests)
    ds = D.load_dataset("fashion_mnist", root=root, base_url=server.url + "/good/",
                        raw_pixels=True)
    f = tiny["fashion"]
    assert torch.equal(ds.x_train, torch.from_numpy(f["train_images"][:, None].astype(np.uint8)))
    assert torch.equal(ds.y_train, torch.from_numpy(f["train_labels"]))
    assert torch.equal(ds.x_test[:, 0], torch.from_numpy(f["test_images"].astype(np.uint8)))
    assert torch.equal(ds.y_test, torch.from_numpy(f["test_labels"]))
    assert ds.mean[0] == pytest.approx(f["train_images"].mean() / 255)
    assert len(server.requests) - before == 4
    assert sorted(p.name for p in root.iterdir()) == sorted(tiny["fashion_files"])
    # cached: no download, same numbers, normalized and subset on request
    sub = D.load_dataset("fashion_mnist", root=root, base_url=server.url + "/good/",
                         train_subset=10, seed=1)
    assert len(server.requests) - before == 4
    assert sub.x_train.shape == (10, 1, 28, 28) and sub.x_train.dtype == torch.float32
    idx = D.subset_indices(30, 10, 1)
    assert torch.equal(sub.x_train, ds.normalize(ds.x_train[idx]))


def test_cifar10_is_parsed_from_the_archive(server, tiny, pinned, tmp_path):
    root = tmp_path / "data"
    ds = D.load_dataset("cifar10", root=root, base_url=server.url + "/good/", raw_pixels=True)
    c = tiny["cifar"]
    train = np.concatenate([c[b][b"data"] for b in D.CIFAR10_TRAIN_BATCHES])
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (4, 3, 32, 32)
    assert torch.equal(ds.x_train, torch.from_numpy(train.reshape(-1, 3, 32, 32)))
    assert ds.y_train.tolist() == sum((c[b][b"labels"] for b in D.CIFAR10_TRAIN_BATCHES), [])
    assert ds.y_test.tolist() == c[D.CIFAR10_TEST_BATCH][b"labels"]
    # per channel: channel 0 is the first 1024 values of each row
    assert ds.mean[0] == pytest.approx(train[:, :1024].mean() / 255)
    assert ds.std[2] == pytest.approx(train[:, 2048:].std() / 255)
    assert [p.name for p in root.iterdir()] == [D.CIFAR10_ARCHIVE[0]]  # nothing extracted


@pytest.mark.parametrize("folder", ["corrupt", "short", "cut"])
@pytest.mark.parametrize("name", ["fashion_mnist", "cifar10"])
def test_bad_download_fails_clearly_and_leaves_nothing(server, pinned, tmp_path, folder, name):
    root = tmp_path / "data"
    with pytest.raises(D.DownloadError, match="Nothing was written"):
        D.load_dataset(name, root=root, base_url=f"{server.url}/{folder}/")
    assert not root.exists() or list(root.iterdir()) == []


def test_stale_cached_file_with_wrong_hash_is_replaced_or_removed(server, tiny, pinned, tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    (root / D.CIFAR10_ARCHIVE[0]).write_bytes(b"half a download")
    with pytest.raises(D.DownloadError):
        D.load_dataset("cifar10", root=root, base_url=server.url + "/short/")
    assert list(root.iterdir()) == []  # the stale file is not kept either
    (root / D.CIFAR10_ARCHIVE[0]).write_bytes(b"half a download")
    ds = D.load_dataset("cifar10", root=root, base_url=server.url + "/good/")
    assert ds.x_train.shape == (20, 3, 32, 32)
    assert (root / D.CIFAR10_ARCHIVE[0]).read_bytes() == tiny["cifar_archive"]


def test_cifar_pickles_are_opened_only_after_the_hash_matched(tmp_path, monkeypatch):
    marker = tmp_path / "code_ran"
    batches = {b: {b"data": Evil(marker)} for b in
               (*D.CIFAR10_TRAIN_BATCHES, D.CIFAR10_TEST_BATCH)}
    evil = cifar_tar_gz(batches)
    with Server({f"/evil/{D.CIFAR10_ARCHIVE[0]}": evil}) as srv:
        root = tmp_path / "data"
        with pytest.raises(D.DownloadError):  # the official hash does not match
            D.load_dataset("cifar10", root=root, base_url=srv.url + "/evil/")
        assert not marker.exists() and list(root.iterdir()) == []
        # even an archive whose hash matched may only build numpy arrays
        monkeypatch.setattr(D, "CIFAR10_ARCHIVE", (D.CIFAR10_ARCHIVE[0],
                                                   hashlib.sha256(evil).hexdigest()))
        with pytest.raises(pickle.UnpicklingError, match="refusing"):
            D.load_dataset("cifar10", root=root, base_url=srv.url + "/evil/")
        assert not marker.exists()


# --- local copies (data_root, then networks.data_mirrors) -------------------------------


def recompressed(body: bytes) -> bytes:
    """The same content gzipped again at another level: other file bytes, same IDX bytes (what
    Debian's package did to FashionMNIST)."""
    again = gzip.compress(gzip.decompress(body), compresslevel=1, mtime=12345)
    assert again != body
    return again


@pytest.fixture
def content_pinned(tiny, pinned, monkeypatch):
    """Pin the tiny FashionMNIST files' decompressed hashes in place of the official ones."""
    monkeypatch.setattr(D, "FASHION_MNIST_CONTENT_SHA256", {
        k: hashlib.sha256(gzip.decompress(tiny["fashion_files"][name])).hexdigest()
        for k, (name, _) in D.FASHION_MNIST_FILES.items()})


def write_copy(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_bytes(body)
    return folder


def test_recompressed_mirror_copy_verifies_by_content_and_is_recorded(tiny, content_pinned,
                                                                      tmp_path):
    """A copy whose .gz bytes differ from upstream's (hash mismatch) but whose content is the
    pinned one is read from the mirror, nothing is downloaded (no server: base_url points
    nowhere) or written to root, and each file's path and hashes are in ``source``."""
    mirror = write_copy(tmp_path / "mirror", {n: recompressed(b) for n, b in
                                              tiny["fashion_files"].items()})
    root = tmp_path / "data"
    ds = D.load_dataset("fashion_mnist", root=root, mirrors=[tmp_path / "empty", mirror],
                        base_url="http://127.0.0.1:9/", raw_pixels=True)
    assert torch.equal(ds.y_train, torch.from_numpy(tiny["fashion"]["train_labels"]))
    assert not root.exists()
    assert [s["path"] for s in ds.source] == [
        str((mirror / name).resolve()) for name, _ in D.FASHION_MNIST_FILES.values()]
    for source, (key, (name, upstream)) in zip(ds.source, D.FASHION_MNIST_FILES.items()):
        body = (mirror / name).read_bytes()
        assert source["sha256"] == hashlib.sha256(body).hexdigest() != upstream
        assert source["content_sha256"] == D.FASHION_MNIST_CONTENT_SHA256[key]


def test_root_comes_before_the_mirrors_and_a_bad_root_copy_is_passed_over(tiny, content_pinned,
                                                                          tmp_path):
    files = tiny["fashion_files"]
    mirror = write_copy(tmp_path / "mirror", files)
    root = write_copy(tmp_path / "data", files)
    ds = D.load_dataset("fashion_mnist", root=root, mirrors=[mirror],
                        base_url="http://127.0.0.1:9/")
    assert all(Path(s["path"]).parent == root.resolve() for s in ds.source)
    name = D.FASHION_MNIST_FILES["test_labels"][0]
    (root / name).write_bytes(b"half a download")
    ds = D.load_dataset("fashion_mnist", root=root, mirrors=[mirror],
                        base_url="http://127.0.0.1:9/")
    assert Path(ds.source[3]["path"]) == (mirror / name).resolve()


@pytest.mark.parametrize("damage", ["flipped byte", "other content", "not gzip"])
def test_a_bad_mirror_copy_is_refused_naming_its_path(tiny, content_pinned, tmp_path, damage):
    files = dict(tiny["fashion_files"])
    name = D.FASHION_MNIST_FILES["train_labels"][0]
    body = files[name]
    files[name] = {"flipped byte": body[:-1] + bytes([body[-1] ^ 0xFF]),
                   "other content": gzip.compress(gzip.decompress(body)[:-1] + b"\x07"),
                   "not gzip": gzip.decompress(body)}[damage]
    mirror = write_copy(tmp_path / "mirror", files)
    with pytest.raises(D.DataFileError, match=re.escape(str(mirror / name))):
        D.load_dataset("fashion_mnist", root=tmp_path / "data", mirrors=[mirror],
                       base_url="http://127.0.0.1:9/")


def test_no_copy_anywhere_lists_every_place_and_both_ways(pinned, tmp_path):
    places = [tmp_path / "data", tmp_path / "m1", tmp_path / "m2"]
    with pytest.raises(D.DataNotFoundError) as err:
        D.load_dataset("fashion_mnist", root=places[0], mirrors=places[1:],
                       base_url="http://127.0.0.1:9/")
    message = str(err.value)
    for place in places:
        assert f"{place}/" in message
    assert "apt-get install dataset-fashion-mnist" in message  # way 1: a local copy
    assert f"{places[0]}/fashion_mnist.verified" in message  # way 2: the download rule
    assert isinstance(err.value, D.DownloadError) and "Nothing was written" in message


def test_official_content_hashes_are_pinned():
    """Four distinct content digests in hashlib's form, none equal to a .gz digest."""
    digests = D.FASHION_MNIST_CONTENT_SHA256
    assert set(digests) == set(D.FASHION_MNIST_FILES)
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for d in digests.values())
    gz = {sha for _, sha in D.FASHION_MNIST_FILES.values()}
    assert len(set(digests.values())) == 4 and not gz & set(digests.values())
