"""Candidate operations of the NAS-Bench-201 cell and the DARTS mixed operation.

The operations follow Dong and Yang, "NAS-Bench-201" (ICLR 2020): ``none`` (zeros),
``skip_connect`` (identity), ``nor_conv_1x1`` and ``nor_conv_3x3`` (ReLU, convolution
without bias, BatchNorm) and ``avg_pool_3x3``. In the search cell the BatchNorms of the
convolutions have no affine parameters and keep running statistics, as in the official
search code of DARTS for this space. The mixed operation is the continuous relaxation of
Liu, Simonyan and Yang, "DARTS: Differentiable Architecture Search" (ICLR 2019):
``sum_k beta_k * o_k(x)`` with beta the softmax of alpha over the edge's operations.
"""

import torch
from torch import nn

from .space import OPERATIONS


class ReLUConvBN(nn.Module):
    """ReLU, then a convolution without bias, then BatchNorm."""

    def __init__(self, c_in, c_out, kernel_size, stride=1, affine=False, track_running_stats=True):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(
            c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
        )
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track_running_stats)

    def forward(self, x):
        return self.bn(self.conv(self.relu(x)))


class Zero(nn.Module):
    """The ``none`` operation: an all-zero output of the input's shape."""

    def forward(self, x):
        return torch.zeros_like(x)


class AvgPool3x3(nn.AvgPool2d):
    """3x3 average pooling, stride 1, that averages only over pixels inside the image."""

    def __init__(self):
        super().__init__(3, stride=1, padding=1, count_include_pad=False)


def build_operation(name: str, channels: int, affine: bool = False) -> nn.Module:
    """Build one candidate operation on ``channels`` channels, stride 1, by benchmark name."""
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, affine=affine)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, affine=affine)
    if name == "avg_pool_3x3":
        return AvgPool3x3()
    raise ValueError(f"unknown operation {name!r}; valid operations are {', '.join(OPERATIONS)}")


class MixedOperation(nn.Module):
    """One edge of the supernet: ``sum_k beta_k * o_k(x)`` over the five operations.

    ``none`` outputs zeros whatever its weight, so it adds nothing to the sum and is
    never computed; its weight still enters the softmax, which is how it competes.
    """

    def __init__(self, channels: int, affine: bool = False):
        super().__init__()
        self.ops = nn.ModuleDict(
            {name: build_operation(name, channels, affine) for name in OPERATIONS if name != "none"}
        )
        self.columns = [OPERATIONS.index(name) for name in self.ops]

    def forward(self, x, weights):
        """Mix the operations on ``x`` (B, C, H, W) with ``weights`` (5,) in benchmark order."""
        out = None
        for column, op in zip(self.columns, self.ops.values()):
            term = weights[column] * op(x)
            out = term if out is None else out + term
        return out
