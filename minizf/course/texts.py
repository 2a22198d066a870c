"""The words of the assignments: conventions, how grading works, walkthrough cells.

Kept apart from the code that writes the files so an instructor can read
(and edit) the task text in one place.
"""

CONVENTIONS = {
    "conv": """
## Conventions (graded)

- Arrays are NCHW: `x (N, C, H, W)`, filters `W (F, C, kh, kw)`, bias `b (F,)`. `kernel_size`,
  `stride` and `pad` are an int or a pair (height, width); `pair` turns either into a pair.
- Output size: `output_size(H, kh, sh, ph)` = `(H + 2 ph - kh) // sh + 1` (given). Padding is zeros.
- **im2col's rows:** one row per window, row `n*OH*OW + r*OW + c` for output position `(r, c)` of
  image `n`. Within a row the window is listed **pixel by pixel with the channels of a pixel
  together**: entry `(i*kw + j)*C + ch` is channel `ch` at kernel offset `(i, j)`. (CS231n lists
  channel first; minizf keeps channels last because `filter_matrix(W) = W.transpose(0, 2, 3, 1)`
  then matches it.)
- **col2im** is the *transpose* of im2col, not its inverse: where windows overlap, the entries
  that came from one pixel are **added**. `<im2col(x), c> == <x, col2im(c, x.shape, ...)>`.
- `conv2d` is a cross-correlation (no filter flip), as in every deep-learning library.
- `conv2d_backward(dy, x, W, stride, pad)` returns `(dx, dW, db)`; with `input_grad=False`
  it returns `(None, dW, db)`. dx is the *transposed convolution* -- the deconvnet's filtering.
""",
    "pool": """
## Conventions (graded)

- `max_pool2d(x, kernel_size, stride=None, pad=0, ceil_mode=False)` returns `(y, switches)`,
  both `(N, C, OH, OW)`; `stride=None` means stride = kernel.
- **Switches** are the maxima's positions in their input plane, `h * W + w` (W = the input's
  width, no padding counted), as PyTorch's `return_indices`. Any integer dtype is fine.
- **Ties:** the **first** maximum in row-major window order wins.
- **Padding** is never a candidate: pad with `-inf`, not zeros (a zero pad beats negative inputs).
- **ceil_mode=True** rounds the output size up (Caffe's rule, the ZF model's 110 -> 55): the
  last window may hang over the bottom/right edge, and only the pixels inside count. A window
  that would *start* in the right padding is dropped (PyTorch's rule); `output_size` (given)
  does all of this.
- A NaN in a window makes its output NaN (not graded).
- `unpool(signal, switches, input_shape)` sends each value to its switch and **adds** values
  that share a switch (overlapping windows); `max_pool2d_backward(dy, switches, input_shape)`
  is the same map -- training's backward and the deconvnet's unpooling are one function.
""",
    "lrn": """
## Conventions (graded)

- `lrn(x, size=5, alpha=1e-4, beta=0.75, k=2.0)`: `b_i = a_i / (k + alpha * S_i) ** beta` with
  `S_i` the sum of `a_j ** 2` over channels `j` in `[i - size//2, i + (size-1)//2]`, clipped to
  the existing channels. This is **the paper's** (Krizhevsky's) alpha: Caffe and PyTorch divide
  alpha by `size` -- a Caffe-convention answer is wrong here (the grader says so).
- For an even `size` the window is not symmetric: `size//2` channels before, `(size-1)//2` after.
- `lrn_backward(dy, x, size, alpha, beta, k)` returns dx. Every output channel depends on its
  neighbours' inputs: forgetting the cross-channel term is the classic bug, invisible when
  `alpha * S` is small -- the grader uses large alphas and large inputs as well.
""",
    "layers": """
## Conventions (graded)

- `relu(x)`, any shape; `relu_backward(dy, x)`: the gradient passes where **x > 0**; at exactly
  `x == 0` it is **zero** (PyTorch's convention).
- `dropout(x, p, rng)` returns `(x * mask, mask)`: drop with probability `p`, scale kept units by
  `1 / (1 - p)` (inverted dropout); draw from the given `rng` (a `numpy.random.Generator`).
  `dropout_backward(dy, mask)` returns `dy * mask`.
- `linear(x, W, b)`: `x (N, in)`, `W (out, in)` (PyTorch's layout), `b (out,)` -> `(N, out)`;
  `linear_backward(dy, x, W)` returns `(dx, dW, db)`, with `db` the **sum** over the batch.
- `softmax_cross_entropy(scores, labels)` returns `(loss, probs)`: the **mean** loss over the
  batch as a float and the probabilities `(N, C)`. It must not overflow for scores of 1000
  (subtract each row's max first). `softmax_cross_entropy_backward(probs, labels)` returns
  `d loss / d scores = (probs - onehot(labels)) / N`.
""",
}

CONVENTIONS["deconv"] = """
## Conventions (graded)

The deconvnet (Sec. 2.1 of the paper) projects one activation back to pixels by undoing each
layer with these maps, which are the backward maps of training:

- `relu_reverse(signal, x, rule)`: **"deconvnet"** rectifies the signal itself, `relu(signal)`
  (x plays no part); **"gradient"** masks by where the forward input x was positive (the
  backward pass); **"guided"** does both. Example: x = [-1, 2], signal = [3, -4] gives
  [3, 0], [0, -4] and [0, 0].
- `unpool(signal, switches, input_shape)`: each value back to its switch (`h*W + w` in its
  input plane), values that share a switch **added**.
- `conv2d_backward_input(dy, W, x_shape, stride, pad)`: the transposed convolution, "filtering
  with the transposed filters" -- the same map as the input gradient of `conv2d`; no bias.
- `receptive_boxes(windows, size)`: `windows` lists `(kernel, stride, pad)` of the conv and
  pooling layers along one axis, first layer first; returns `(size, 2)` ints: unit `u` of the
  last layer sees input pixels `[start, end)`, **unclipped** (a box may start below 0 where
  padding was read).

The grader also projects the strongest activation of a small conv-relu-pool-conv-relu-pool
network down to pixels with your three maps, under all three rules.
"""

CONVENTIONS["sgd"] = """
## Conventions (graded)

`sgd_momentum(param, grad, velocity, lr, momentum=0.9, weight_decay=0.0)` returns
`(new_param, new_velocity)` and leaves its inputs unchanged:

    v' = momentum * v - lr * (grad + weight_decay * param)
    param' = param + v'

(the velocity is what gets *added*; weight decay is the gradient of
`weight_decay / 2 * |param|^2`, so it pulls the parameter towards 0.) In minizf's training
the caller passes `weight_decay=0` for biases.

The grader also trains a softmax classifier on a fixed small problem with your step (its own
forward and backward, your updates, 5 epochs of minibatches at lr 0.01): the training loss must
end below 0.3 (a correct step reaches 0.16; without momentum it stays at 0.82).
"""

GRADING = """
## How it is graded

`minizf grade {name}.py` (or the folder) runs your functions in a sandbox (only Python and
NumPy, no network, no new processes, no files but a copy of yours), on inputs drawn from your
file's contents (grading the same file twice gives the same score; `--seed` picks others),
float64, chosen to expose the classic bugs of this assignment (the list below). Values are
compared with the reference; gradients with the reference backward **and** with float64
central differences under a random upstream gradient; every linear map with its claimed
transpose (the adjoint identity `<A x, y> == <x, A^T y>` on your own pair).
It prints one line per test: points, what was compared, the worst entry (yours vs expected)
and a hint when the failure looks like a known bug. The last line is `score S / M`.
Importing minizf (or torch) from your file gets zero on the tests it touches: the point is to
write the code yourself. Inputs must not be changed in place.

Tolerance: every comparison allows a relative error of 1e-6 of the answer's size, so float32
arithmetic passes; float16 answers are refused, and maps that return all zeros fail the
transpose tests.

Limits: each test has 30 s of wall clock (`--time-limit`); your process may use 2 GiB of
memory, write files of at most 16 MiB in its own folder, and cannot start other processes;
the file you hand in may have at most 1 MiB.
"""

AT_SCALE = """
Some functions ({functions}) are also run once at the size of a real layer with 10 s to answer:
a loop implementation takes under 0.1 s there, and even one written entry by entry in pure
Python about half a second, while a "backward" computed by finite differences of your own
forward needs minutes (col2im found by probing im2col with basis images: about one). If that
test fails, for any reason, the function's other tests do not count.
"""

WALK_HEAD = '''# %% [markdown]
# # Walkthrough: assignment "{name}"
#
# Run these cells one by one as you write each function in `{name}.py`. They try your
# code on tiny examples whose answers you can check by hand; `minizf grade {name}.py`
# then grades it on harder ones.

# %%
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__)) if "__file__" in globals() else os.getcwd()
sys.path.insert(0, HERE)
import {name} as hw  # noqa: E402  (your file)

rng = np.random.default_rng(0)


def numerical_gradient(f, x, eps=1e-6):
    """Central differences of a scalar function f() that reads x (float64, perturbed in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def close(a, b, tol=1e-6):
    """Largest difference, relative to the larger of the two arrays."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b).max() <= tol * max(np.abs(a).max(), np.abs(b).max(), 1e-300)


def gradient_check(got, f, x):
    """got against central differences of f() at x: to 1e-6 (the grader's tolerance) where f computes
    in float64; where it computes in float32 its rounding swamps so fine a difference (the grader
    compares with float64 differences of its own forward instead), so a coarser step and 1e-2."""
    # Move every entry by 1e-12 of itself: a float64 forward moves with it, a float32 one rounds the
    # change away (twice, since a rounding may flip by chance).
    before, saved, moved = f(), x.copy(), []
    for _ in range(2):
        x *= 1 + 1e-12 * np.sign(rng.standard_normal(x.shape))
        moved.append(f() != before)
        x[...] = saved
    coarse = not all(moved)
    if coarse:
        print("(your forward computes in float32: checked to 1e-2 with a step of 1e-3)")
        return close(got, numerical_gradient(f, x, eps=1e-3), tol=1e-2)
    return close(got, numerical_gradient(f, x))

'''

WALK_CONV = '''
# %% [markdown]
# ## 1. im2col on a tiny image
# Two channels, 4x4, a 3x3 kernel: 2x2 windows, so 4 rows of 3*3*2 = 18 entries. Row 0 is
# the top-left window; entry (i*kw + j)*C + ch is channel ch at kernel offset (i, j).

# %%
x = np.arange(2 * 4 * 4, dtype=float).reshape(1, 2, 4, 4)
rows = hw.im2col(x, 3)
print(rows.shape)
assert rows.shape == (4, 18)
assert rows[0, 0] == x[0, 0, 0, 0] and rows[0, 1] == x[0, 1, 0, 0] and rows[0, 2] == x[0, 0, 0, 1]
assert rows[3, -1] == x[0, 1, 3, 3]          # last window, last offset, last channel

# %% [markdown]
# ## 2. col2im is the transpose of im2col
# With stride 2 and a 3x3 kernel the windows overlap: col2im must add.

# %%
x = rng.standard_normal((2, 3, 6, 6))
c = rng.standard_normal((2 * 3 * 3, 3 * 3 * 3))        # output 3x3 per image
lhs = (hw.im2col(x, 3, 2, 1) * c).sum()
rhs = (x * hw.col2im(c, x.shape, 3, 2, 1)).sum()
print(lhs, rhs)
scale = np.linalg.norm(hw.im2col(x, 3, 2, 1)) * np.linalg.norm(c) + np.linalg.norm(x) * np.linalg.norm(
    hw.col2im(c, x.shape, 3, 2, 1))
assert abs(lhs - rhs) <= 1e-6 * scale               # the grader's tolerance: float32 arithmetic passes

# %% [markdown]
# ## 3. conv2d against a loop over output positions

# %%
x, W, b = rng.standard_normal((2, 3, 7, 7)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
y = hw.conv2d(x, W, b, stride=2, pad=1)
xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
for r, c in [(0, 0), (1, 2), (3, 3)]:
    window = xpad[:, :, 2 * r:2 * r + 3, 2 * c:2 * c + 3]
    expected = np.einsum("nchw,fchw->nf", window, W) + b
    assert close(y[:, :, r, c], expected)
print(y.shape, "matches the loop")

# %% [markdown]
# ## 4. conv2d_backward against numerical gradients
# A random upstream gradient dy: checking sum(y) instead would miss many bugs.

# %%
dy = rng.standard_normal(y.shape)
dx, dW, db = hw.conv2d_backward(dy, x, W, stride=2, pad=1)
f = lambda: (hw.conv2d(x, W, b, stride=2, pad=1) * dy).sum()  # noqa: E731
for name, got, array in [("dx", dx, x), ("dW", dW, W), ("db", db, b)]:
    ok = gradient_check(got, f, array)
    print(name, "ok" if ok else "WRONG")
    assert ok
'''

WALK_POOL = '''
# %% [markdown]
# ## 1. max_pool2d on a 4x4 map
# 2x2 windows, stride 2: four outputs, and the switch of each is h*W + w of its maximum.

# %%
x = np.array([[1., 5., 2., 0.],
              [3., 4., 8., 8.],
              [0., 0., -1., -2.],
              [0., 9., -3., -1.]]).reshape(1, 1, 4, 4)
y, switches = hw.max_pool2d(x, 2)
print(y[0, 0], switches[0, 0], sep="\\n")
assert (y[0, 0] == [[5, 8], [9, -1]]).all()
assert (switches[0, 0] == [[1, 6], [13, 10]]).all()   # ties (8, 8 and -1, -1): the first one wins

# %% [markdown]
# ## 2. Padding never wins, and ceil mode keeps the edge
# With pad 1 around negative numbers, a zero pad would win every edge window.

# %%
y, _ = hw.max_pool2d(-1 - np.abs(rng.standard_normal((1, 1, 5, 5))), 3, 2, pad=1)
assert (y < 0).all()
y, _ = hw.max_pool2d(rng.standard_normal((1, 1, 6, 6)), 3, 2, ceil_mode=True)
print(y.shape)
assert y.shape == (1, 1, 3, 3)                      # floor would give 2x2

# %% [markdown]
# ## 3. unpool adds where windows share a switch
# 3x3 windows with stride 2 overlap; one large pixel in the middle wins all four.

# %%
x = np.zeros((1, 1, 5, 5))
x[0, 0, 2, 2] = 7.0
y, switches = hw.max_pool2d(x, 3, 2)
back = hw.unpool(np.ones_like(y), switches, x.shape)
print(back[0, 0])
assert back[0, 0, 2, 2] == 4.0 and back.sum() == 4.0

# %% [markdown]
# ## 4. The backward is unpooling of dy, checked numerically on tie-free input

# %%
x = rng.permutation(np.linspace(-1, 1, 2 * 3 * 7 * 7)).reshape(2, 3, 7, 7)   # no ties
y, switches = hw.max_pool2d(x, 3, 2)
dy = rng.standard_normal(y.shape)
dx = hw.max_pool2d_backward(dy, switches, x.shape)
f = lambda: (hw.max_pool2d(x, 3, 2)[0] * dy).sum()  # noqa: E731
ok = gradient_check(dx, f, x)
print("dx", "ok" if ok else "WRONG")
assert ok
'''

WALK_LRN = '''
# %% [markdown]
# ## 1. lrn on one pixel with 3 channels
# size 3: each channel's window is itself and its two neighbours (clipped at the ends).

# %%
x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
alpha, beta, k = 0.5, 0.75, 2.0
y = hw.lrn(x, size=3, alpha=alpha, beta=beta, k=k)
expected = [1 / (k + alpha * (1 + 4)) ** beta, 2 / (k + alpha * 14) ** beta, 3 / (k + alpha * 13) ** beta]
print(y.ravel(), expected)
assert close(y.ravel(), expected)

# %% [markdown]
# ## 2. lrn_backward against numerical gradients
# A large alpha makes the cross-channel term matter (with alpha = 1e-4 it hides).

# %%
for size in (3, 4):
    x = rng.standard_normal((2, 6, 3, 3)) * 3
    dy = rng.standard_normal(x.shape)
    dx = hw.lrn_backward(dy, x, size, 0.1, 0.75, 1.0)
    f = lambda: (hw.lrn(x, size, 0.1, 0.75, 1.0) * dy).sum()  # noqa: E731
    ok = gradient_check(dx, f, x)
    print("size", size, "ok" if ok else "WRONG")
    assert ok
'''

WALK_LAYERS = '''
# %% [markdown]
# ## 1. ReLU and its gradient (zero at exactly x = 0)

# %%
x = np.array([[-1.0, 0.0, 2.0]])
assert (hw.relu(x) == [[0, 0, 2]]).all()
assert (hw.relu_backward(np.array([[3.0, 3.0, 3.0]]), x) == [[0, 0, 3]]).all()

# %% [markdown]
# ## 2. Dropout keeps 1 - p of the units, scaled by 1 / (1 - p)

# %%
out, mask = hw.dropout(np.ones((1000, 100)), 0.2, np.random.default_rng(0))
print("kept", (mask > 0).mean(), "values", np.unique(mask))
assert abs((mask > 0).mean() - 0.8) < 0.01 and np.allclose(np.unique(mask), [0, 1 / 0.8])

# %% [markdown]
# ## 3. Linear and softmax cross-entropy against numerical gradients

# %%
x, W, b = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
labels = np.array([0, 2, 1, 2])


def loss():
    return hw.softmax_cross_entropy(hw.linear(x, W, b), labels)[0]


value, probs = hw.softmax_cross_entropy(hw.linear(x, W, b), labels)
dscores = hw.softmax_cross_entropy_backward(probs, labels)
dx, dW, db = hw.linear_backward(dscores, x, W)
for name, got, array in [("dx", dx, x), ("dW", dW, W), ("db", db, b)]:
    ok = gradient_check(got, loss, array)
    print(name, "ok" if ok else "WRONG")
    assert ok

# %% [markdown]
# ## 4. No overflow for large scores

# %%
value, probs = hw.softmax_cross_entropy(np.array([[1000.0, 0.0, -1000.0]]), np.array([0]))
print(value, probs)
assert np.isfinite(value) and np.isfinite(probs).all()
'''

WALK_DECONV = '''
# %% [markdown]
# ## 1. Three ways back through a ReLU

# %%
x, signal = np.array([[-1.0, 2.0]]), np.array([[3.0, -4.0]])
for rule, expected in [("deconvnet", [[3, 0]]), ("gradient", [[0, -4]]), ("guided", [[0, 0]])]:
    got = hw.relu_reverse(signal, x, rule)
    print(rule, got)
    assert (got == expected).all()

# %% [markdown]
# ## 2. Filtering with the transposed filters is the transpose of conv2d
# <conv(x), y> == <x, conv^T(y)>, with a loop convolution as conv.

# %%
x, W = rng.standard_normal((1, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
y = np.zeros((1, 3, 3, 3))                      # stride 2, pad 1 -> 3x3
xpad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
for r in range(3):
    for c in range(3):
        y[0, :, r, c] = np.einsum("chw,fchw->f", xpad[0, :, 2 * r:2 * r + 3, 2 * c:2 * c + 3], W)
g = rng.standard_normal(y.shape)
back = hw.conv2d_backward_input(g, W, x.shape, 2, 1)
print((y * g).sum(), (x * back).sum())
assert close((y * g).sum(), (x * back).sum())

# %% [markdown]
# ## 3. Receptive fields: conv 3x3 pad 1, then pool 2x2 stride 2
# Unit 0 of the pool sees conv units 0-1, which see pixels -1 .. 2 (pixel -1 is padding).

# %%
boxes = hw.receptive_boxes([(3, 1, 1), (2, 2, 0)], 4)
print(boxes)
assert (boxes == [[-1, 3], [1, 5], [3, 7], [5, 9]]).all()
'''

WALK_SGD = '''
# %% [markdown]
# ## 1. One step, by hand
# From rest (v = 0) the step is plain gradient descent: param - lr * grad.

# %%
p, g, v = np.array([1.0, -2.0]), np.array([0.5, 0.5]), np.zeros(2)
p1, v1 = hw.sgd_momentum(p, g, v, lr=0.1, momentum=0.9)
print(p1, v1)
assert close(p1, [0.95, -2.05]) and close(v1, [-0.05, -0.05])
p2, v2 = hw.sgd_momentum(p1, g, v1, lr=0.1, momentum=0.9)
assert close(v2, [-0.095, -0.095])               # 0.9 * -0.05 - 0.1 * 0.5

# %% [markdown]
# ## 2. Minimise a quadratic: f(p) = |p - 3|^2 / 2, gradient p - 3

# %%
p, v = np.zeros(3), np.zeros(3)
for step in range(200):
    p, v = hw.sgd_momentum(p, p - 3.0, v, lr=0.1, momentum=0.9)
print(p)
assert close(p, [3, 3, 3], 1e-4)
'''


#: Docstrings of the student's file where the library's would give the answer away: the contract
#: (shapes, conventions) stays, the derivation stays in the key (the library's own source).
STUDENT_DOCS = {
    "col2im": """Fold rows back, adding overlaps: cols (N*OH*OW, kh*kw*C) -> (N, C, H, W).

The adjoint (transpose) of ``im2col`` with the same geometry: rows and columns in im2col's order.
""",
    "max_pool2d_backward": "Gradient of max_pool2d: dy (N, C, OH, OW), switches, input_shape -> dx (N, C, H, W).",
    "lrn_backward": """Gradient of lrn: dy (N, C, H, W), x and lrn's parameters -> dx (same shape).

Every output channel j depends on the inputs of its window, so dx_i collects terms from every
channel whose window holds i (for an even size, that is not the same as i's own window).
""",
    "relu_backward": "Gradient of relu at x: dy (shape of x) -> dx (shape of x); the gradient at x = 0 is 0.",
    "dropout_backward": "Gradient of dropout with the mask its forward returned: dy -> dx (same shape).",
    "softmax_cross_entropy_backward": "d(mean loss)/d scores: probs (N, C) from the forward, labels (N,) -> (N, C).",
    "receptive_boxes": """Input spans of every unit along one axis -> (size, 2) int array of [start, end).

windows: [(kernel, stride, pad), ...], the first layer first; size: the number of units of the
last layer. Spans are not clipped: they may start below 0 or end past the image, where padding
was read.
""",
    "sgd_momentum": """One step of SGD with momentum and weight decay: param, grad, velocity (same shape)
-> (new param, new velocity); the inputs are left untouched.

The velocity is added to the parameter (a step goes against the gradient); weight decay is the
gradient of (weight_decay / 2) |param|^2. README.md states the graded convention.
""",
}
