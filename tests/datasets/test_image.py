"""Image preprocessing: mapping.csv + files, grayscale/RGB, (N, C, H, W) order, [0, 1] scaling,
sortable pixel names, padding, and 422/400 for corrupted, missing or escaping files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from synergos_worker.datasets import (
    InvalidDataset,
    UnsafeTag,
    load_prepared,
    pixel_column,
    preprocess_project,
)
from tests.datasets.builders import write_images


def prepare(root: Path, outputs: Path, tag: str = "pics") -> dict:
    return preprocess_project(root, outputs, "proj", {"train": [[tag]]}, "classify")["train"]


def gradient(height: int, width: int, offset: int = 0) -> np.ndarray:
    return (np.arange(height * width, dtype=np.uint8).reshape(height, width) * 10 + offset)


def test_grayscale_images_become_n_1_h_w_in_unit_range(data_root: Path, outputs: Path) -> None:
    images = {"a.png": gradient(3, 4), "b.png": gradient(3, 4, offset=100)}
    write_images(data_root / "pics", images, {"a.png": "cat", "b.png": "dog"})
    answer = prepare(data_root, outputs)
    prepared = load_prepared(outputs, "proj", "train")
    assert prepared.image_shape == [1, 3, 4] and answer["image_shape"] == [1, 3, 4]
    assert prepared.X.shape == (2, 12) and prepared.X.dtype == np.float32
    pixels = prepared.X.reshape(2, 1, 3, 4)
    np.testing.assert_allclose(pixels[0, 0], images["a.png"] / 255.0, rtol=1e-6)
    np.testing.assert_allclose(pixels[1, 0], images["b.png"] / 255.0, rtol=1e-6)
    assert prepared.y_columns == ["target_cat", "target_dog"]
    assert answer["metadata"]["color"] == "L" and answer["metadata"]["pixel_width"] == 4


def test_pixel_names_sort_in_channel_row_column_order(data_root: Path, outputs: Path) -> None:
    image = np.zeros((12, 11, 3), dtype=np.uint8)
    write_images(data_root / "pics", {"a.png": image}, {"a.png": "x"}, color="RGB")
    columns = prepare(data_root, outputs)["headers"]["X"]
    assert columns == sorted(columns)  # sorted-union alignment keeps the geometry
    assert columns[0] == pixel_column(0, 0, 0) and columns[-1] == pixel_column(2, 11, 10)
    assert columns.index(pixel_column(1, 0, 0)) == 12 * 11


def test_rgb_channels_keep_their_order(data_root: Path, outputs: Path) -> None:
    image = np.zeros((2, 3, 3), dtype=np.uint8)
    image[..., 0], image[..., 1], image[..., 2] = 255, 0, 51  # red, green, blue planes
    image[1, 2] = (10, 20, 30)
    write_images(data_root / "pics", {"a.png": image}, {"a.png": "x"}, color="RGB")
    prepare(data_root, outputs)
    prepared = load_prepared(outputs, "proj", "train")
    pixels = prepared.X.reshape(1, *prepared.image_shape)
    assert prepared.image_shape == [3, 2, 3]
    np.testing.assert_allclose(pixels[0, :, 0, 0], [1.0, 0.0, 0.2], rtol=1e-6)
    np.testing.assert_allclose(pixels[0, :, 1, 2], np.array([10, 20, 30]) / 255, rtol=1e-6)


def test_smaller_images_are_zero_padded_to_the_largest(data_root: Path, outputs: Path) -> None:
    images = {"big.png": np.full((3, 3), 255, np.uint8),
              "small.png": np.full((2, 2), 255, np.uint8)}
    write_images(data_root / "pics", images, {"big.png": "a", "small.png": "b"})
    answer = prepare(data_root, outputs)
    pixels = load_prepared(outputs, "proj", "train").X.reshape(2, 3, 3)
    assert answer["metadata"]["padded_images"] == 1
    np.testing.assert_array_equal(pixels[1], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_corrupted_image_is_422_naming_the_file(data_root: Path, outputs: Path) -> None:
    folder = write_images(data_root / "pics", {"ok.png": gradient(2, 2)}, {"ok.png": "a"})
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really a png")
    with open(folder / "mapping.csv", "a") as mapping:
        mapping.write("broken.png,b\n")
    with pytest.raises(InvalidDataset) as caught:
        prepare(data_root, outputs)
    assert caught.value.status == 422 and "pics/broken.png" in caught.value.message


def test_missing_image_and_bad_mapping_are_422(data_root: Path, outputs: Path) -> None:
    folder = write_images(data_root / "pics", {"ok.png": gradient(2, 2)}, {"ok.png": "a"})
    (folder / "mapping.csv").write_text("image,target\nghost.png,a\n")
    with pytest.raises(InvalidDataset, match=r"ghost\.png"):
        prepare(data_root, outputs)
    (folder / "mapping.csv").write_text("file,label\nok.png,a\n")
    with pytest.raises(InvalidDataset, match=r"mapping\.csv lacks"):
        prepare(data_root, outputs)


def test_image_path_leaving_the_data_root_is_refused(tmp_path: Path, data_root: Path,
                                                     outputs: Path) -> None:
    write_images(tmp_path / "outside", {"secret.png": gradient(2, 2)}, {"secret.png": "a"})
    folder = write_images(data_root / "pics", {"ok.png": gradient(2, 2)}, {"ok.png": "a"})
    (folder / "mapping.csv").write_text("image,target\n../../outside/secret.png,a\n")
    with pytest.raises(UnsafeTag) as caught:
        prepare(data_root, outputs)
    assert caught.value.status == 400
    write_images(data_root / "other", {"b.png": gradient(2, 2)}, {"b.png": "a"})
    (folder / "mapping.csv").write_text("image,target\n../other/b.png,a\n")
    with pytest.raises(InvalidDataset, match="outside the dataset folder"):
        prepare(data_root, outputs)


def test_mixed_color_modes_in_one_meta_are_422(data_root: Path, outputs: Path) -> None:
    write_images(data_root / "grey", {"a.png": gradient(2, 2)}, {"a.png": "a"})
    write_images(data_root / "rgb", {"b.png": np.zeros((2, 2, 3), np.uint8)}, {"b.png": "b"},
                 color="RGB")
    with pytest.raises(InvalidDataset, match="color modes"):
        preprocess_project(data_root, outputs, "proj", {"train": [["grey"], ["rgb"]]}, "classify")
