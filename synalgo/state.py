"""The type of a model's named tensors: global weights, an update, or a strategy's state."""

from __future__ import annotations

import torch

State = dict[str, torch.Tensor]
