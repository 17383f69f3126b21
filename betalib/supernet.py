"""The NAS-Bench-201 supernet, written the straightforward way.

The network follows the search network of Dong and Yang, "NAS-Bench-201" (ICLR 2020):
a 3x3 convolution stem, ``cells_per_stage`` search cells at C channels, a residual
block that halves the resolution and doubles the channels, the same at 2C, again at 4C,
then BatchNorm, ReLU, global average pooling and a linear classifier. All cells share one
alpha of shape (6, 5), so the network takes beta = softmax(alpha / T) as an input and
owns only the weights: the two parameter groups of DARTS stay disjoint by construction.

This is the plain reference against which the fast path is checked.
"""

from contextlib import contextmanager

import torch
from torch import nn

from .ops import MixedOperation, ReLUConvBN
from .space import EDGES, NUM_EDGES, NUM_NODES, NUM_OPERATIONS


class ResidualBlock(nn.Module):
    """The reduction between stages: two 3x3 ReLU-conv-BN layers, the first with stride 2,
    plus a shortcut of 2x2 average pooling and a 1x1 convolution."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2, affine=True)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, stride=1, affine=True)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2),
            nn.Conv2d(c_in, c_out, kernel_size=1, bias=False),
        )

    def forward(self, x):
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class SearchCell(nn.Module):
    """A cell of four nodes in which every edge j<-i is a mixed operation."""

    def __init__(self, channels):
        super().__init__()
        self.edges = nn.ModuleList(MixedOperation(channels) for _ in EDGES)

    def forward(self, x, beta):
        """Run the cell on ``x`` (B, C, H, W) with ``beta`` (6, 5), edges in benchmark order."""
        nodes = [x]
        for target in range(1, NUM_NODES):
            total = None
            for e, (source, edge_target) in enumerate(EDGES):
                if edge_target != target:
                    continue
                term = self.edges[e](nodes[source], beta[e])
                total = term if total is None else total + term
            nodes.append(total)
        return nodes[-1]


class Supernet(nn.Module):
    """The NAS-Bench-201 search network; ``forward(x, beta)`` returns class logits."""

    def __init__(self, channels=16, cells_per_stage=5, in_channels=3, num_classes=10):
        super().__init__()
        self.channels = channels
        self.cells_per_stage = cells_per_stage
        self.in_channels = in_channels
        self.num_classes = num_classes

        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        )
        layers = []
        width = channels
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualBlock(width, 2 * width))
                width *= 2
            layers.extend(SearchCell(width) for _ in range(cells_per_stage))
        self.layers = nn.ModuleList(layers)
        self.head = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(width, num_classes)

    def forward(self, x, beta):
        """Classify ``x`` (B, in_channels, H, W) with operation weights ``beta`` (6, 5)."""
        if beta.shape != (NUM_EDGES, NUM_OPERATIONS):
            raise ValueError(
                f"beta must have shape ({NUM_EDGES}, {NUM_OPERATIONS}), got {tuple(beta.shape)}"
            )
        out = self.stem(x)
        for layer in self.layers:
            out = layer(out, beta) if isinstance(layer, SearchCell) else layer(out)
        out = self.pool(self.head(out)).flatten(1)
        return self.classifier(out)


def init_alpha(generator: torch.Generator | None = None, scale: float = 1e-3) -> torch.Tensor:
    """Draw alpha (6, 5) as ``scale`` times a standard normal, as the official code does."""
    return scale * torch.randn(NUM_EDGES, NUM_OPERATIONS, generator=generator)


def count_parameters(module: nn.Module) -> int:
    """Return the number of weights of ``module``."""
    return sum(p.numel() for p in module.parameters())


def build_supernet(config, in_channels: int, num_classes: int) -> nn.Module:
    """Build the supernet that ``config.fast`` selects: the fused fast path or the plain reference."""
    plain = Supernet(config.channels, config.cells_per_stage, in_channels, num_classes)
    if not config.fast:
        return plain

    # The fast path starts from the plain network's weights, so a seed gives the same search.
    from .fastnet import FastSupernet, copy_plain_weights

    fast = FastSupernet(config.channels, config.cells_per_stage, in_channels, num_classes)
    return copy_plain_weights(fast, plain)


@contextmanager
def frozen_weights(net: nn.Module):
    """Turn off ``requires_grad`` of the weights of ``net`` inside the block.

    The alpha step needs only the gradient of alpha. With the weights frozen, autograd
    neither records the stem nor saves the inputs of convolutions for weight gradients.
    """
    parameters = [p for p in net.parameters() if p.requires_grad]
    for parameter in parameters:
        parameter.requires_grad_(False)
    try:
        yield net
    finally:
        for parameter in parameters:
            parameter.requires_grad_(True)
