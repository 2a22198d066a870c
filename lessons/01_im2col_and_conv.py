# %% [markdown]
# # Lesson 1 — im2col and convolution
#
# *Run time: about a second on a 2-core CPU.*
#
# A convolution slides each filter over the image and takes a dot product at
# every position. Written as loops that is six nested `for`s. *im2col*
# ("image to columns", the name the literature uses) copies every window into
# a row of a matrix, so the whole convolution becomes **one matrix product**.
# Its partner *col2im* is the **transpose** of im2col, and that is exactly
# what backprop (and the deconvnet) need.

# %%
import os

import numpy as np

import minizf as mz
from minizf import functional as F
from minizf.data import load_image, sample_path
from minizf.plot import image_grid

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)

# %% [markdown]
# ## 1. A tiny image and its windows
# One image, one channel, 4x4 pixels numbered 0..15. A 3x3 window with
# stride 1 fits at 2x2 positions, so im2col gives 4 rows of 9 values.

# %%
x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
rows = F.im2col(x, kernel_size=3, stride=1, pad=0)
print("image:\n", x[0, 0])
print("im2col shape (N*OH*OW, kh*kw*C):", rows.shape)
print("row 0 = the top-left window, flattened:", rows[0])
print("row 3 = the bottom-right window:       ", rows[3])

# %% [markdown]
# With several channels a row lists the window pixel by pixel, all channels
# of a pixel together: entry `(i*kw + j)*C + c` is channel c at kernel offset
# (i, j). (Why that order? im2col copies one kernel offset of the whole batch
# at a time, and with channels last each copy moves runs of C values, which
# is fast when there are many channels. For a first layer's 3 channels
# minizf keeps the same matrix transposed in memory instead; the numbers are
# the same.)

# %%
x2 = np.arange(2 * 9, dtype=np.float64).reshape(1, 2, 3, 3)   # channel 0: 0..8, channel 1: 9..17
print("one 3x3 window of a 2-channel image:", F.im2col(x2, 3)[0])

# %% [markdown]
# ## 2. Convolution is one matrix product
# A filter bank W of shape (F, C, kh, kw) flattens the same way to
# (F, kh*kw*C) (`F.filter_matrix(W)`). Then `rows @ W_flat.T` is
# (N*OH*OW, F): every filter at every position of every image at once.
# We compare it with the plain six-loop definition.

# %%
rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 7, 7))
W = rng.standard_normal((4, 3, 3, 3))
b = rng.standard_normal(4)
y = F.conv2d(x, W, b, stride=2, pad=1)
by_product = F.im2col(x, 3, 2, 1) @ F.filter_matrix(W).T + b        # (N*OH*OW, F)
print("one matrix product, reshaped to (N, F, OH, OW), equals conv2d:",
      np.allclose(by_product.reshape(2, 4, 4, 4).transpose(0, 3, 1, 2), y))


def conv_by_loops(x, W, b, stride, pad):
    N, C, H, Wd = x.shape
    Fo, _, kh, kw = W.shape
    xpad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (H + 2 * pad - kh) // stride + 1, (Wd + 2 * pad - kw) // stride + 1
    out = np.zeros((N, Fo, oh, ow))
    for n in range(N):
        for f in range(Fo):
            for i in range(oh):
                for j in range(ow):
                    window = xpad[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = np.sum(window * W[f]) + b[f]
    return out


print("output shape:", y.shape, "| max difference from the loops:",
      np.abs(y - conv_by_loops(x, W, b, 2, 1)).max())

# %% [markdown]
# ## 3. col2im is the transpose of im2col, not its inverse
# Where windows overlap, a pixel is copied into several rows. Going back,
# col2im *adds* those copies. So `col2im(im2col(x))` counts how often each
# pixel was read, and the real identity is the adjoint one:
# `<im2col(x), c> == <x, col2im(c)>` for every x and c.

# %%
ones = np.ones((1, 1, 4, 4))
print("col2im(im2col(ones)) counts the windows covering each pixel:\n",
      F.col2im(F.im2col(ones, 3), ones.shape, 3)[0, 0])
err = mz.adjoint_check(lambda v: F.im2col(v, 3, 2, 1), lambda c: F.col2im(c, (2, 3, 7, 7), 3, 2, 1),
                       x_shape=(2, 3, 7, 7), y_shape=(2 * 16, 27))
print(f"adjoint identity, relative error: {err:.1e}  (float64 round-off)")

# %% [markdown]
# ## 4. A real photo through hand-made filters
# Horizontal and vertical edge detectors (Sobel) applied to each colour
# channel summed: the kind of filter a trained first layer learns.

# %%
photo = load_image(sample_path("chelsea"), size=128)[None]        # (1, 3, 128, 128)
sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.float32)
bank = np.stack([np.stack([sobel] * 3), np.stack([sobel.T] * 3)]) / 3  # (2, 3, 3, 3)
edges = F.conv2d(photo, bank, None, stride=1, pad=1)                   # (1, 2, 128, 128)
path = image_grid([photo[0], edges[0, 0], edges[0, 1]], os.path.join(OUT, "01_edges.png"),
                  titles=["photo", "vertical edges", "horizontal edges"], signed=[False, True, True])
print("wrote", path)

# %% [markdown]
# ## Exercises
# Write the bodies below (replace `raise NotImplementedError`); the asserts
# must pass. Until you do, the lesson runs the solutions in
# `lessons/solutions/01_im2col_and_conv.py` and says so. For a graded version
# of this lesson, see `minizf assignment make conv`.
#
# **Exercise 1.** The number of window positions along one axis, for a
# kernel `kernel` moved by `stride` over `size` pixels padded by `pad` on
# each side.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def conv_output_size(size, kernel, stride, pad):
    raise NotImplementedError          # your code here


conv_output_size = attempt(conv_output_size, "01_im2col_and_conv")
with check("conv_output_size", "count the window's first positions: (size + 2 pad - kernel) // stride + 1; "
                               "the padding is on both sides, and the last partial window does not count"):
    assert conv_output_size(32, 5, 1, 2) == 32          # 'same' padding
    assert conv_output_size(224, 7, 2, 1) == 110        # the paper's conv1
    assert conv_output_size(7, 3, 2, 1) == 4
    # the property: the last window starts inside the padded input and one more stride would leave it
    for size, kernel, stride, pad in [(9, 3, 2, 0), (10, 4, 3, 1), (5, 5, 1, 0)]:
        last = (conv_output_size(size, kernel, stride, pad) - 1) * stride
        assert last + kernel <= size + 2 * pad < last + stride + kernel

# %% [markdown]
# **Exercise 2.** A convolution as one matrix product: use `F.im2col` and
# `F.filter_matrix`, then put the (N*OH*OW, F) result back into (N, F, OH, OW).

# %%
def conv_by_im2col(x, W, b, stride, pad):
    raise NotImplementedError          # your code here


conv_by_im2col = attempt(conv_by_im2col, "01_im2col_and_conv")
with check("conv_by_im2col", "the (N*OH*OW, F) product is ordered image by image, row by row: reshape to "
                             "(N, OH, OW, F) first, then move F forward with transpose(0, 3, 1, 2)"):
    mine = conv_by_im2col(x, W, b, 2, 1)
    assert mine.shape == (2, 4, 4, 4) and np.allclose(mine, conv_by_loops(x, W, b, 2, 1))
print("exercises of lesson 1: done")
