"""Image classification data sets as tensors: digits (offline), FashionMNIST, CIFAR-10.

Everything is parsed with numpy (no torchvision) and returned as an :class:`ArrayDataset`:
images ``N x C x H x W``, labels int64. By default images are float32 and normalized per
channel, ``x = (pixel / pixel_max - mean_c) / std_c``, in [0, 1] pixel units. The constants
come from ``normalization`` (see :data:`NORMALIZATIONS`): ``"train_statistics"`` uses the
per-channel mean and (population) standard deviation of the FULL training set (so they do not
depend on the seed or on ``train_subset``); ``"unit_interval"`` keeps the pixels in [0, 1]
(mean 0, std 1: the authors' FashionMNIST, ``ToTensor()`` alone); a mapping
``{"mean": [...], "std": [...]}`` gives the constants (the authors' CIFAR-10 constants are in
``config/paper.yaml``; their std values are not the data's true std, about 0.247/0.243/0.261). With ``raw_pixels=True`` images stay uint8 (e.g. CIFAR-10 held on
the GPU for augmentation) and :meth:`ArrayDataset.normalize` maps them to the same float32
values later.

- ``digits``: scikit-learn's bundled 8x8 digits (1797 images, pixels 0..16, offline). Fixed
  split independent of the seed: the first :data:`DIGITS_NUM_TRAIN` images (in scikit-learn's
  order) are the training set, the remaining 500 the test set.
- ``fashion_mnist``: the four official IDX ``.gz`` files (60k train / 10k test, 28x28).
- ``cifar10``: the official python-batches archive ``cifar-10-python.tar.gz`` (50k / 10k, 32x32).

Where the files come from (:func:`locate`): first ``root`` (``networks.data_root``), then each
folder of ``mirrors`` (``networks.data_mirrors``: local copies such as Debian's package
``dataset-fashion-mnist`` in ``/usr/share/datasets/fashion-mnist`` or a cluster's shared
folder), and only when no copy is there, a download into ``root``. A file is accepted when the
SHA-256 of its bytes matches the upstream file's, or the SHA-256 of its DECOMPRESSED bytes
matches the pinned content hash: the IDX bytes are the data set, whoever compressed them
(Debian recompressed FashionMNIST, so its ``.gz`` hashes differ from upstream's while the
content hashes agree). A mirror's file that matches neither is refused, naming its path; when
no copy exists and the download fails, :class:`DataNotFoundError` lists every place looked at
and the two ways to get the data. CIFAR-10 has no content pin (no recompressed copy is known):
its archive must match the upstream SHA-256 wherever it lies.

Downloads go through pooch into ``root`` with pinned SHA-256 hashes: a file is moved to its
final name only after its hash matched, so a corrupted or truncated download raises
:class:`DownloadError` and leaves nothing in ``root``; a cached file is re-hashed on every use.
CIFAR-10's pickles are read straight from the verified archive (nothing is extracted), with an
unpickler that only builds numpy arrays. Every loaded data set carries ``source``: per file,
the path it was read from and the SHA-256 of its bytes and of its content (recorded in every
run's JSON).
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import pickle
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

DATASETS = ("digits", "fashion_mnist", "cifar10")
DIGITS_NUM_TRAIN = 1297

FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
#: (file name, SHA-256) of the official FashionMNIST files (Zalando Research).
FASHION_MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz",
                     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
    "train_labels": ("train-labels-idx1-ubyte.gz",
                     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
    "test_images": ("t10k-images-idx3-ubyte.gz",
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
}
#: SHA-256 of each FashionMNIST file's DECOMPRESSED bytes (the IDX content), the same for the
#: upstream ``.gz`` files and for Debian's recompressed copies (package dataset-fashion-mnist).
FASHION_MNIST_CONTENT_SHA256 = {
    "train_images": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train_labels": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "test_images": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "test_labels": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
#: Where Debian's package ``dataset-fashion-mnist`` puts the four files (the default mirror).
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
#: How to get each data set without this loader's download (listed when no copy is found).
OFFLINE_SOURCES = {
    "fashion_mnist": f"install Debian's package: apt-get install dataset-fashion-mnist (files "
                     f"in {DEBIAN_FASHION_MNIST}, a default mirror), or copy the four .gz files "
                     f"into data_root or a folder listed in networks.data_mirrors",
    "cifar10": "copy cifar-10-python.tar.gz into data_root or a folder listed in "
               "networks.data_mirrors",
}
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/"
#: (file name, SHA-256) of the official CIFAR-10 python archive (Krizhevsky).
CIFAR10_ARCHIVE = ("cifar-10-python.tar.gz",
                   "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce")
CIFAR10_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_BATCH = "test_batch"
DOWNLOAD_TIMEOUT_S = 60
#: Named normalizations; a ``{"mean": [...], "std": [...]}`` mapping is the third kind.
NORMALIZATIONS = ("train_statistics", "unit_interval")


class DownloadError(RuntimeError):
    """A download failed or did not match its pinned SHA-256; nothing was kept."""


class DataNotFoundError(DownloadError):
    """No local copy of a data file and the download failed: the message lists every place
    looked at and the two ways to get the data."""


class DataFileError(ValueError):
    """A local copy of a data file matches neither its upstream nor its content SHA-256."""


@dataclass
class ArrayDataset:
    """A classification data set held as tensors.

    ``x_*``: float32 normalized images (or uint8 pixels when ``raw_pixels``), N x C x H x W;
    ``y_*``: int64 labels. ``mean`` / ``std``: the per-channel normalization constants in
    [0, 1] pixel units (pixel / pixel_max), see :func:`normalization_constants`.
    """

    name: str
    num_classes: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: tuple[float, ...]
    std: tuple[float, ...]
    raw_pixels: bool = False
    pixel_max: float = 255.0
    #: per file read: ``{"file", "path", "sha256", "content_sha256"}`` (see :func:`locate`)
    source: tuple[dict, ...] = ()

    @property
    def in_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x_train.shape[1:])

    def normalize(self, pixels: torch.Tensor) -> torch.Tensor:
        """Raw integer pixels -> float32 ``(pixels / pixel_max - mean_c) / std_c``, on the
        pixels' device (used after augmenting uint8 batches)."""
        if pixels.is_floating_point():
            raise TypeError("normalize() takes raw integer pixels; float images are "
                            "normalized already")
        shape = (1, -1, 1, 1)
        mean = torch.tensor(self.mean, dtype=torch.float32, device=pixels.device).view(shape)
        std = torch.tensor(self.std, dtype=torch.float32, device=pixels.device).view(shape)
        return (pixels.float() / self.pixel_max - mean) / std

    def to(self, device: str | torch.device) -> ArrayDataset:
        """The same data set with all tensors on ``device``."""
        return replace(self, **{k: getattr(self, k).to(device)
                                for k in ("x_train", "y_train", "x_test", "y_test")})


def load_dataset(name: str, root: str | Path = "data", train_subset: int | None = None,
                 seed: int = 0, base_url: str | None = None,
                 raw_pixels: bool = False,
                 normalization: str | dict = "train_statistics",
                 mirrors: tuple | list = ()) -> ArrayDataset:
    """Load ``name`` (one of :data:`DATASETS`) from ``root`` or a local mirror, downloading
    into ``root`` only when neither has it (module docstring).

    Args:
        mirrors: folders holding local copies of the data files, looked at after ``root``.
        train_subset: keep this many training images, drawn without replacement by
            ``torch.randperm`` seeded with ``seed`` (1024 for FashionMNIST in the paper);
            None keeps all. The test set is always complete.
        base_url: overrides the download location (a folder URL ending in '/'), for mirrors
            and tests; the pinned hashes still apply.
        raw_pixels: keep uint8 pixels (see :meth:`ArrayDataset.normalize`).
        normalization: one of :data:`NORMALIZATIONS` or ``{"mean": [...], "std": [...]}``
            (one value per channel), see the module docstring.
    """
    places = [Path(root), *(Path(m) for m in mirrors)]
    if name == "digits":
        (x_tr, y_tr, x_te, y_te), source, pixel_max = *_digits_arrays(), 16.0
    elif name == "fashion_mnist":
        (x_tr, y_tr, x_te, y_te), source = _fashion_mnist_arrays(places, base_url)
        pixel_max = 255.0
    elif name == "cifar10":
        (x_tr, y_tr, x_te, y_te), source = _cifar10_arrays(places, base_url)
        pixel_max = 255.0
    else:
        raise ValueError(f"unknown data set {name!r}; choose one of {DATASETS}")
    mean, std = normalization_constants(normalization, x_tr, pixel_max)
    if train_subset is not None:
        idx = subset_indices(len(x_tr), train_subset, seed)
        x_tr, y_tr = x_tr[idx], y_tr[idx]
    data = ArrayDataset(
        name=name, num_classes=10,
        x_train=torch.from_numpy(np.ascontiguousarray(x_tr)),
        y_train=torch.from_numpy(y_tr.astype(np.int64)),
        x_test=torch.from_numpy(np.ascontiguousarray(x_te)),
        y_test=torch.from_numpy(y_te.astype(np.int64)),
        mean=mean, std=std, raw_pixels=True, pixel_max=pixel_max, source=tuple(source),
    )
    if raw_pixels:
        return data
    return replace(data, x_train=data.normalize(data.x_train),
                   x_test=data.normalize(data.x_test), raw_pixels=False)


def subset_indices(n: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct indices of ``range(n)``: the first ``size`` of a permutation drawn
    by ``torch.randperm`` from a generator seeded with ``seed``."""
    if not 1 <= size <= n:
        raise ValueError(f"train_subset must be in [1, {n}], got {size}")
    generator = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n, generator=generator)[:size].numpy()


def normalization_constants(normalization: str | dict, pixels: np.ndarray,
                            pixel_max: float) -> tuple[tuple, tuple]:
    """Per-channel (mean, std) in [0, 1] pixel units for ``normalization`` (module
    docstring) and the full training set's uint8 ``pixels`` (N x C x H x W)."""
    channels = pixels.shape[1]
    if normalization == "train_statistics":
        return channel_statistics(pixels, pixel_max)
    if normalization == "unit_interval":
        return (0.0,) * channels, (1.0,) * channels
    if isinstance(normalization, dict) and set(normalization) == {"mean", "std"}:
        mean, std = (tuple(float(v) for v in normalization[k]) for k in ("mean", "std"))
        if len(mean) != channels or len(std) != channels or min(std) <= 0:
            raise ValueError(f"normalization needs {channels} mean and {channels} positive std "
                             f"values for this data set, got {normalization}")
        return mean, std
    raise ValueError(f"normalization must be one of {NORMALIZATIONS} or a mapping with keys "
                     f"'mean' and 'std', got {normalization!r}")


def channel_statistics(pixels: np.ndarray, pixel_max: float) -> tuple[tuple, tuple]:
    """Per-channel mean and population std of ``pixels / pixel_max`` (uint8, N x C x H x W),
    from each channel's histogram of pixel values (exact, no float copy of the data)."""
    values = np.arange(256) / pixel_max
    mean, std = [], []
    for c in range(pixels.shape[1]):
        counts = np.bincount(pixels[:, c].ravel(), minlength=256)
        m = float(counts @ values) / counts.sum()
        mean.append(m)
        std.append(float(np.sqrt(counts @ (values - m) ** 2 / counts.sum())))
    return tuple(mean), tuple(std)


def random_crop_flip(x: torch.Tensor, padding: int = 4,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crop after zero padding, then a horizontal flip with probability 1/2, drawn
    independently per image and done for the whole batch at once on ``x.device``.

    ``x``: N x C x H x W, any dtype. Padding is 0: black for raw uint8 pixels (as
    torchvision's RandomCrop before Normalize), the mean colour for normalized images.
    ``generator`` (optional) must live on ``x.device``. The draws: offsets (2 x N, uniform in
    0 .. 2 * padding, rows first), then flips (N, uniform in {0, 1}); :func:`crop_flip` applies
    them.
    """
    n = x.shape[0]
    offsets = torch.randint(0, 2 * padding + 1, (2, n), generator=generator, device=x.device)
    flips = torch.randint(0, 2, (n,), generator=generator, device=x.device).bool()
    return crop_flip(x, offsets, flips, padding)


def crop_flip(x: torch.Tensor, offsets: torch.Tensor, flips: torch.Tensor,
              padding: int) -> torch.Tensor:
    """Image k of ``x`` zero-padded by ``padding``, cropped to H x W at row ``offsets[0, k]``
    and column ``offsets[1, k]`` of the padded image, and flipped left-right where
    ``flips[k]`` (bool); one gather for the whole batch. All three on the same device."""
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding)).flatten(2)
    rows = offsets[0, :, None] + torch.arange(h, device=x.device)
    cols = offsets[1, :, None] + torch.arange(w, device=x.device)
    cols = torch.where(flips[:, None], cols.flip(1), cols)
    # flat index into each padded (h + 2p) x (w + 2p) image, shared by the channels
    index = (rows[:, :, None] * (w + 2 * padding) + cols[:, None, :]).view(n, 1, h * w)
    # gather returns standard NCHW strides (a permuted 1-channel result would not)
    return padded.gather(2, index.expand(n, c, h * w)).view(n, c, h, w)


def _digits_arrays():
    """scikit-learn's bundled digits (``sklearn/datasets/data/digits.csv.gz``: 1797 rows of
    64 pixels in 0..16 and the label), read directly: the same arrays as
    ``sklearn.datasets.load_digits`` without importing scikit-learn in every training job."""
    from importlib.util import find_spec

    spec = find_spec("sklearn")
    if spec is None:
        raise ModuleNotFoundError("the digits data set comes with scikit-learn: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    with gzip.open(path, "rt") as fh:
        table = np.loadtxt(fh, delimiter=",", dtype=np.float64)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 1, 8, 8)  # pixels 0..16
    labels = table[:, -1].astype(np.int64)
    k = DIGITS_NUM_TRAIN
    raw = path.read_bytes()
    source = {"file": path.name, "path": str(path), "sha256": sha256_hex(raw),
              "content_sha256": sha256_hex(gzip.decompress(raw))}
    return (images[:k], labels[:k], images[k:], labels[k:]), [source]


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of ``data`` as 64 lowercase hex digits."""
    return hashlib.sha256(data).hexdigest()


def verified_content(raw: bytes, sha256: str, content_sha256: str | None) -> dict | None:
    """``{"sha256", "content_sha256", "content"}`` of a file's bytes ``raw`` when they are the
    pinned file: the SHA-256 of ``raw`` is the upstream file's ``sha256``, or the SHA-256 of
    its gzip-decompressed bytes is ``content_sha256`` (a recompressed copy of the same data).
    ``content`` is the decompressed bytes (``raw`` itself without a content pin). None when
    neither matches."""
    digest = sha256_hex(raw)
    if content_sha256 is None:
        return {"sha256": digest, "content_sha256": None, "content": raw} \
            if digest == sha256 else None
    try:
        content = gzip.decompress(raw)
    except (OSError, EOFError):  # not gzip, or truncated
        return None
    content_digest = sha256_hex(content)
    if digest != sha256 and content_digest != content_sha256:
        return None
    return {"sha256": digest, "content_sha256": content_digest, "content": content}


def locate(dataset: str, file_name: str, sha256: str, content_sha256: str | None,
           places: list[Path], base_url: str) -> tuple[bytes, dict]:
    """The verified content of ``file_name`` and its source ``{"file", "path", "sha256",
    "content_sha256"}``, from the first of ``places`` (``root``, then the mirrors) that holds
    it, else downloaded into ``places[0]`` (:func:`fetch`).

    A mirror's copy that fails :func:`verified_content` raises :class:`DataFileError` naming
    its path (a mirror is read-only: it is refused, not replaced); a bad copy in ``root`` is
    passed over and replaced by the download. No copy and a failed download raise
    :class:`DataNotFoundError`, listing the places and the ways to get the data."""
    root = places[0]
    for place in places:
        path = place / file_name
        if not path.is_file():
            continue
        found = verified_content(path.read_bytes(), sha256, content_sha256)
        if found is not None:
            return found.pop("content"), {"file": file_name, "path": str(path.resolve()), **found}
        if place != root:
            raise DataFileError(
                f"{path} is not the {dataset} file {file_name}: its SHA-256 is not the "
                f"upstream {sha256}" + (f" and its decompressed content's is not {content_sha256}"
                                        if content_sha256 else "")
                + ". It is corrupted or a different file: replace it, or remove its folder from "
                "networks.data_mirrors.")
    try:
        path = fetch(file_name, sha256, root, base_url)
    except DownloadError as err:
        looked = ", ".join(f"{place}/" for place in places)
        raise DataNotFoundError(
            f"{dataset}: no copy of {file_name} in {looked} and the download failed: {err}\n"
            f"Two ways to get it: (1) a local copy: {OFFLINE_SOURCES[dataset]}; (2) a download "
            f"on a host with internet: snakemake --cores 1 {root}/{dataset}.verified "
            f"(data/README.md)."
        ) from err
    found = verified_content(path.read_bytes(), sha256, content_sha256)
    return found.pop("content"), {"file": file_name, "path": str(path.resolve()), **found}


def fetch(file_name: str, sha256: str, root: Path, base_url: str) -> Path:
    """Download ``base_url + file_name`` into ``root`` unless a file with the pinned hash is
    there already. The download is written to a temporary file and renamed only after its
    SHA-256 matched; on any failure nothing of it remains and :class:`DownloadError` says
    what went wrong."""
    import pooch
    import requests

    url = base_url + file_name
    target = Path(root) / file_name
    try:
        path = pooch.retrieve(
            url, known_hash=f"sha256:{sha256}", fname=file_name, path=root,
            downloader=pooch.HTTPDownloader(progressbar=False, timeout=DOWNLOAD_TIMEOUT_S),
        )
    except (ValueError, OSError, requests.exceptions.RequestException) as err:
        # a stale cached file with a wrong hash is not kept either
        if target.exists() and not pooch.file_hash(str(target)) == sha256:
            target.unlink()
        raise DownloadError(
            f"could not get {file_name} from {url} with SHA-256 {sha256}: {err}. "
            f"Nothing was written to {root}/; check the network or the mirror (base_url) "
            f"and retry."
        ) from err
    return Path(path)


def parse_idx(raw: bytes) -> np.ndarray:
    """An uncompressed IDX file (the MNIST format): 2 zero bytes, type code 0x08 (uint8),
    the number of dimensions, big-endian int32 sizes, then the data."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise ValueError("not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    shape = tuple(int(s) for s in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"IDX header says {shape} but the file holds {data.size} bytes")
    return data.reshape(shape).copy()  # writable


def _fashion_mnist_arrays(places: list[Path], base_url: str | None):
    arrays, sources = {}, []
    for key, (file_name, sha256) in FASHION_MNIST_FILES.items():
        content, source = locate("fashion_mnist", file_name, sha256,
                                 FASHION_MNIST_CONTENT_SHA256[key], places,
                                 base_url or FASHION_MNIST_URL)
        arrays[key] = parse_idx(content)
        sources.append(source)
    return (arrays["train_images"][:, None], arrays["train_labels"],
            arrays["test_images"][:, None], arrays["test_labels"]), sources


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, lists, dicts and bytes; refuses every other global."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): np.empty(0).__reduce__()[0],
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): codecs.encode,  # bytes in Python 3 protocol-2 pickles
    }

    def find_class(self, module, name):
        key = (module.replace("numpy._core.", "numpy.core."), name)  # numpy >= 2 pickles
        if key not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")
        return self._ALLOWED[key]


def _read_cifar_batch(archive: tarfile.TarFile, member: str) -> tuple[np.ndarray, np.ndarray]:
    matches = [m for m in archive.getmembers() if m.name.endswith("/" + member)]
    if len(matches) != 1:
        raise ValueError(f"CIFAR-10 archive holds {len(matches)} members named {member}")
    batch = _ArrayUnpickler(io.BytesIO(archive.extractfile(matches[0]).read()),
                            encoding="bytes").load()
    pixels = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
    return pixels, np.asarray(batch[b"labels"], dtype=np.int64)


def _cifar10_arrays(places: list[Path], base_url: str | None):
    file_name, sha256 = CIFAR10_ARCHIVE
    content, source = locate("cifar10", file_name, sha256, None, places,
                             base_url or CIFAR10_URL)
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:  # hash verified
        train = [_read_cifar_batch(archive, b) for b in CIFAR10_TRAIN_BATCHES]
        x_te, y_te = _read_cifar_batch(archive, CIFAR10_TEST_BATCH)
    x_tr = np.concatenate([x for x, _ in train])
    y_tr = np.concatenate([y for _, y in train])
    return (x_tr, y_tr, x_te, y_te), [source]
