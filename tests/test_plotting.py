import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from course_utils.core import plotting  # noqa: E402
from course_utils.core.training import History  # noqa: E402


def _history(n=4, offset=0.0):
    return History(train_loss=list(np.linspace(1, 0.1, n) + offset),
                   val_loss=list(np.linspace(1.1, 0.3, n) + offset),
                   train_acc=list(np.linspace(0.5, 0.99, n)), val_acc=list(np.linspace(0.4, 0.9, n)))


def test_plot_history_draws_train_and_val_per_label():
    axes = plotting.plot_history({"a": _history(), "b": _history(offset=0.2)})
    assert len(axes) == 2
    loss_ax, acc_ax = axes
    assert [l.get_label() for l in loss_ax.lines] == ["a train", "a val", "b train", "b val"]
    assert np.allclose(acc_ax.lines[1].get_ydata(), _history().val_acc)
    assert loss_ax.get_yscale() == "log" and acc_ax.get_ylabel() == "accuracy"
    plt.close("all")


def test_plot_history_validates():
    with pytest.raises(TypeError, match="histories must be a History"):
        plotting.plot_history([1, 2])
    with pytest.raises(ValueError, match="metrics must contain only"):
        plotting.plot_history(_history(), metrics=("f1",))


def test_decision_boundary_shades_predicted_classes():
    X = np.array([[-1.0, 0.0], [1.0, 0.0]])
    y = np.array([0, 1])
    X = np.array([[-1.0, 5.0], [1.0, 9.0]])  # x and y ranges differ on purpose
    seen = []

    def predict(grid):
        seen.append(grid.copy())
        return (grid[:, 0] > 0).astype(int)

    ax = plotting.plot_decision_boundary(predict, X, y, resolution=20, margin=0.5)
    assert len(ax.collections) >= 2  # filled contours + scatter
    grid = seen[0]
    assert np.allclose(grid.min(0), [-1.5, 4.5]) and np.allclose(grid.max(0), [1.5, 9.5])
    assert ax.get_xlim()[0] <= -1.0 and ax.get_ylim()[1] >= 9.0
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plotting.plot_decision_boundary(lambda g: g, np.zeros((3, 3)), np.zeros(3))
    plt.close("all")


def test_figure_to_png_is_deterministic_and_not_in_pyplot():
    def draw():
        fig, axes = plotting.new_figure(2)
        axes[0, 0].plot([0, 1], [1, 0])
        return fig
    a, b = plotting.figure_to_png(draw()), plotting.figure_to_png(draw())
    assert a[:8] == b"\x89PNG\r\n\x1a\n" and a == b
    assert plt.get_fignums() == []


def test_figure_to_png_header_adds_a_strip_above_the_same_picture():
    import io

    import numpy as np
    from PIL import Image

    def draw():
        fig, axes = plotting.new_figure(width=4.0, height=2.0)
        axes[0, 0].plot([0, 1], [1, 0])
        return fig
    plain = np.asarray(Image.open(io.BytesIO(plotting.figure_to_png(draw(), dpi=100))))
    short = plotting.figure_to_png(draw(), dpi=100, header="lr = 0.1")
    assert short == plotting.figure_to_png(draw(), dpi=100, header="lr = 0.1")  # deterministic
    one = np.asarray(Image.open(io.BytesIO(short)))
    assert one.shape[1] == plain.shape[1] == 400 and one.shape[0] > plain.shape[0]
    assert np.array_equal(one[-plain.shape[0]:], plain)  # the figure itself is untouched
    long = " · ".join(f"parameter{k} = {k}" for k in range(12))
    two = np.asarray(Image.open(io.BytesIO(plotting.figure_to_png(draw(), dpi=100, header=long))))
    assert two.shape[0] > one.shape[0]  # a long header wraps onto more lines
    with pytest.raises(TypeError, match="header"):
        plotting.figure_to_png(draw(), header=3)
