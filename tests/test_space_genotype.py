import numpy as np
import pytest
import torch

from betalib import Genotype
from betalib.space import EDGE_NAMES, EDGES, OPERATIONS

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_operations_in_benchmark_order():
    assert OPERATIONS == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def test_edges_in_benchmark_order():
    assert EDGE_NAMES == ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")
    assert EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def test_round_trip_of_known_cell():
    genotype = Genotype.from_string(BEST)
    assert genotype.to_string() == BEST
    assert genotype.operations[3] == "skip_connect"
    assert genotype.count("nor_conv_3x3") == 5


def test_all_cells_unique_and_round_trip():
    cells = Genotype.all()
    strings = [cell.to_string() for cell in cells]
    assert len(cells) == 15625
    assert len(set(strings)) == 15625
    for text in strings[::97]:
        assert Genotype.from_string(text).to_string() == text


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|", "groups"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "conv_5x5"),
        ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "none~1"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "|none~0|"),
        ("|none~0|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "|none~0|none~1|"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "none~0|"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "'none'"),
    ],
)
def test_invalid_string_names_bad_part(text, fragment):
    with pytest.raises(ValueError) as error:
        Genotype.from_string(text)
    assert fragment in str(error.value)


def test_groups_in_other_order_rejected():
    swapped = "|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
    with pytest.raises(ValueError):
        Genotype.from_string(swapped)


def test_from_alpha_takes_argmax_including_none():
    alpha = torch.zeros(6, 5)
    alpha[0, 0] = 1.0  # none wins edge 1<-0
    alpha[1, 1] = 1.0
    alpha[2, 2] = 1.0
    alpha[3, 3] = 1.0
    alpha[4, 4] = 1.0
    alpha[5, 0] = 2.0
    genotype = Genotype.from_alpha(alpha)
    assert genotype.operations == ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none")
    assert genotype.count("none") == 2
    assert Genotype.from_alpha(alpha.numpy()) == genotype


def test_from_alpha_rejects_bad_shape_and_nan():
    with pytest.raises(ValueError, match="shape"):
        Genotype.from_alpha(np.zeros((5, 6)))
    with pytest.raises(ValueError, match="NaN"):
        Genotype.from_alpha(np.full((6, 5), np.nan))


def test_one_hot_matches_operations():
    genotype = Genotype.from_string(BEST)
    matrix = genotype.one_hot()
    assert matrix.sum() == 6
    assert Genotype.from_alpha(matrix) == genotype
