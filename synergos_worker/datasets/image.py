"""Image pipeline: `mapping.csv` (image, target) + image files -> pixels in [0, 1], (N, C, H, W).

Pixel columns are named `px_c<channel>_r<row>_c<col>` with zero-padded numbers so that their
lexicographic order is the C, H, W order: sorted-union alignment keeps the geometry.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from synergos_worker.datasets.errors import InvalidDataset
from synergos_worker.datasets.features import Allocator, MetaFeatures, RowIds, zeros_matrix
from synergos_worker.datasets.folder import DatasetSpec, check_options, checked_path
from synergos_worker.datasets.targets import TARGET, Target, concat_targets, target_from_values

MAPPING_FILE = "mapping.csv"
IMAGE_ID = "image"
IMAGE_OPTIONS = {"color", "size"}
COLOR_MODES = {"l": "L", "grayscale": "L", "greyscale": "L", "gray": "L", "grey": "L",
               "rgb": "RGB", "color": "RGB", "colour": "RGB"}
MAX_SIDE = 9999
MAX_BYTES = 8 * 1024**3


def pixel_column(channel: int, row: int, col: int) -> str:
    """Name of one pixel column; zero padding makes lexicographic order = (C, H, W) order."""
    return f"px_c{channel}_r{row:04d}_c{col:04d}"


def pixel_columns(shape: tuple[int, int, int]) -> list[str]:
    """All pixel column names of a (C, H, W) image, in C-order (which is also sorted order)."""
    channels, height, width = shape
    return [pixel_column(c, r, w) for c in range(channels) for r in range(height)
            for w in range(width)]


def _image_options(spec: DatasetSpec) -> tuple[str, tuple[int, int] | None]:
    check_options(spec, IMAGE_OPTIONS)
    shown = f"{spec.display}/metadata.json"
    color = str(spec.options.get("color", "L"))
    mode = COLOR_MODES.get(color.lower())
    if mode is None:
        raise InvalidDataset(f"{shown}: option 'color' must be 'L' (grayscale) or 'RGB', "
                             f"got {color!r}")
    size = spec.options.get("size")
    if size is None:
        return mode, None
    if (not isinstance(size, list) or len(size) != 2
            or not all(isinstance(v, int) and 0 < v <= MAX_SIDE for v in size)):
        raise InvalidDataset(f"{shown}: option 'size' must be [height, width] in pixels")
    return mode, (size[0], size[1])


def _read_mapping(spec: DatasetSpec, labels_optional: bool) -> pd.DataFrame:
    path = checked_path(spec, spec.path / MAPPING_FILE)
    shown = spec.describe_file(path)
    try:
        mapping = pd.read_csv(path, dtype=str, keep_default_na=True)
    except FileNotFoundError as error:
        raise InvalidDataset(f"{spec.display} has no {MAPPING_FILE}") from error
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise InvalidDataset(f"{shown} cannot be parsed: {error}") from error
    needed = ("image",) if labels_optional else ("image", TARGET)
    missing = [name for name in needed if name not in mapping.columns]
    if missing:
        raise InvalidDataset(f"{shown} lacks column(s) {missing} (needs 'image' and 'target')")
    if TARGET not in mapping.columns:
        mapping[TARGET] = None
    if mapping["image"].isna().any() and not labels_optional:
        raise InvalidDataset(f"{shown}: some rows have no image file name")
    return mapping


def _load_pixels(spec: DatasetSpec, name: str, mode: str,
                 size: tuple[int, int] | None) -> np.ndarray:
    """One image as uint8 (C, H, W); a missing or corrupted file raises `InvalidDataset`."""
    if os.path.isabs(name):
        raise InvalidDataset(f"{spec.display}/{MAPPING_FILE}: image path {name!r} is absolute")
    path = checked_path(spec, spec.path / name)
    shown = spec.describe_file(path)
    if spec.path not in path.parents:  # keeps the cache fingerprint (folder files) complete
        raise InvalidDataset(f"{spec.display}/{MAPPING_FILE}: image {name!r} is outside the "
                             "dataset folder")
    try:
        with Image.open(path) as image:
            image.load()
            converted = image.convert(mode)
    except FileNotFoundError as error:
        raise InvalidDataset(f"{shown} (listed in {MAPPING_FILE}) does not exist") from error
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise InvalidDataset(f"{shown} is not a readable image: {error}") from error
    if size is not None:
        converted = converted.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    pixels = np.asarray(converted, dtype=np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[np.newaxis]
    else:
        pixels = np.transpose(pixels, (2, 0, 1))  # H, W, C -> C, H, W
    if max(pixels.shape[1:]) > MAX_SIDE:
        raise InvalidDataset(f"{shown} is larger than {MAX_SIDE} pixels; set option 'size'")
    return pixels


def _stack(images: list[np.ndarray], shown: str,
           allocate: Allocator) -> tuple[np.ndarray, tuple[int, int, int], int]:
    """Scale to [0, 1] into one N x (C*H*W) float32 matrix in C, H, W order, zero-padding
    smaller images at the bottom/right to the largest height and width; returns the matrix,
    the (C, H, W) shape and how many images were padded."""
    channels = images[0].shape[0]
    height = max(image.shape[1] for image in images)
    width = max(image.shape[2] for image in images)
    if len(images) * channels * height * width * 4 > MAX_BYTES:
        raise InvalidDataset(f"{shown}: the images need more than {MAX_BYTES} bytes as floats; "
                             "set option 'size' to shrink them")
    matrix = allocate((len(images), channels * height * width))
    stacked = matrix.reshape(len(images), channels, height, width)
    padded = 0
    for index, image in enumerate(images):
        _, h, w = image.shape
        padded += (h, w) != (height, width)
        np.multiply(image, np.float32(1 / 255), out=stacked[index, :, :h, :w], casting="unsafe")
    return matrix, (channels, height, width), padded


def _scored_images(spec: DatasetSpec, names: list[object], mode: str,
                   size: tuple[int, int] | None, start: int
                   ) -> tuple[list[np.ndarray], np.ndarray, list[dict[str, Any]]]:
    """Every readable image of a prediction mapping; the others are listed with the reason
    (position counted from `start` over the meta's input rows) instead of failing the meta."""
    images: list[np.ndarray] = []
    keep = np.zeros(len(names), dtype=bool)
    unscored: list[dict[str, Any]] = []
    for index, name in enumerate(names):
        if not isinstance(name, str):
            unscored.append({"position": start + index, "id": "",
                             "reason": f"row {index} of {MAPPING_FILE} names no image file"})
            continue
        try:
            images.append(_load_pixels(spec, name, mode, size))
            keep[index] = True
        except InvalidDataset as error:
            unscored.append({"position": start + index, "id": name, "reason": str(error)})
    return images, keep, unscored


def load_image_meta(specs: list[DatasetSpec], action: str,
                    allocate: Allocator = zeros_matrix,
                    labels_optional: bool = False) -> MetaFeatures:
    """Run the image pipeline over every dataset folder of one meta (rows appended). With
    `labels_optional` (prediction data) images without a target are kept, and images that
    cannot be read are listed as unscored instead of failing the meta. An image's id is its
    file name as the mapping writes it."""
    shown = ", ".join(spec.display for spec in specs)
    images: list[np.ndarray] = []
    targets: list[Target] = []
    ids: list[str] = []
    unscored: list[dict[str, Any]] = []
    modes: set[str] = set()
    without_target = position = 0
    for spec in specs:
        mode, size = _image_options(spec)
        modes.add(mode)
        mapping = _read_mapping(spec, labels_optional)
        target = target_from_values(mapping[TARGET], action,
                                    spec.describe_file(spec.path / MAPPING_FILE))
        without_target += int(target.missing().sum())
        if labels_optional:
            names = mapping["image"].tolist()
            read, keep, skipped = _scored_images(spec, names, mode, size, position)
            images.extend(read)
            unscored.extend(skipped)
            position += len(names)
        else:
            keep = ~target.missing()
            images.extend(_load_pixels(spec, name, mode, size)
                          for name in mapping["image"][keep].tolist())
        targets.append(target.take(keep))
        ids.extend(mapping["image"][keep].tolist())
    if len(modes) > 1:
        raise InvalidDataset(f"{shown}: tags of one meta mix color modes {sorted(modes)}")
    if not images:
        raise InvalidDataset(f"{shown}: no " + ("readable image" if labels_optional
                                                else "image with a target value"))
    matrix, (channels, height, width), padded = _stack(images, shown, allocate)
    n_images = len(matrix)
    metadata: dict[str, Any] = {
        "src_count": n_images, "pixel_height": height, "pixel_width": width,
        "color": modes.pop(), "channels": channels, "padded_images": padded,
        "rows_without_target": without_target, "unscored_rows": len(unscored),
    }
    return MetaFeatures(
        X=matrix, columns=pixel_columns((channels, height, width)),
        target=concat_targets(targets),
        schema={"image": "object", TARGET: "category" if action == "classify" else "float32"},
        metadata=metadata, image_shape=[channels, height, width],
        rows=RowIds(IMAGE_ID, ids, unscored) if labels_optional else None,
    )
