# %% [markdown]
# # Lesson 2 — backprop by hand, and how to check it
#
# *Run time: about a second on a 2-core CPU.*
#
# minizf has no autograd: every layer writes its backward out. That is only
# useful if the backward is *right*, so this lesson shows the three checks the
# library itself is tested with:
#
# 1. **numerical gradients** (central differences in float64),
# 2. a **random upstream gradient** (never `sum(f(x))`),
# 3. **adjoint identities** for linear maps: `<A x, y> == <x, A^T y>`.

# %%
import os

import numpy as np

import minizf as mz
from minizf.check import format_report, gradcheck_layers
from minizf.plot import curve

from minizf.lessons.exercises import out_folder  # noqa: E402

OUT = out_folder()          # $MINIZF_OUT, else out/ beside the script (a notebook: where it runs)
rng = np.random.default_rng(0)

# %% [markdown]
# ## 1. A small ZF-shaped network
# conv -> ReLU -> max-pool -> LRN, twice, then a fully connected classifier.
# `summary` prints every layer's output shape for one 16x16 RGB image.

# %%
mz.seed(0)
net = mz.Sequential([
    ("conv1", mz.Conv2D(3, 8, 3, pad=1)), ("relu1", mz.ReLU()),
    ("pool1", mz.MaxPool2D(3, 2, ceil_mode=True)), ("norm1", mz.LRN()),
    ("conv2", mz.Conv2D(8, 16, 3, pad=1)), ("relu2", mz.ReLU()),
    ("pool2", mz.MaxPool2D(3, 2, ceil_mode=True)), ("norm2", mz.LRN()),
    ("flatten", mz.Flatten()), ("fc6", mz.Linear(16 * 4 * 4, 32)), ("relu6", mz.ReLU()),
    ("drop6", mz.Dropout(0.5)), ("fc7", mz.Linear(32, 5)),
])
print(net.summary((3, 16, 16)))

# %% [markdown]
# ## 2. Forward, loss, backward
# `forward` keeps what each layer needs (inputs, pooling switches, dropout
# masks); `backward` walks the layers in reverse, each applying its piece of
# the chain rule and storing its parameter gradients in `layer.grads`.

# %%
x = rng.standard_normal((8, 3, 16, 16)).astype(np.float32)
labels = rng.integers(0, 5, 8)
ce = mz.SoftmaxCrossEntropy()
loss = ce.forward(net.forward(x, train=True), labels)
dx = net.backward(ce.backward())
scores = net.forward(x)
print(f"loss {loss:.4f} (log 5 = {np.log(5):.4f} for a random guess)")
print(f"the untrained scores spread with std {scores.std():.2f} across classes, so its guesses are "
      "confident, and mostly wrong.")
print("a loss above log 5 is normal before training: log 5 is what a net that says 'no idea' (equal "
      "scores) gets; random weights say something, at random")
print("d loss / d input:", dx.shape, "| d loss / d conv1.W:", net["conv1"].grads["W"].shape)

# %% [markdown]
# ## 3. Gradient check of the whole network
# Central differences need float64: in float32 the rounding error of
# `(f(x+h) - f(x-h)) / 2h` swamps the answer. Dropout masks are frozen
# during the check, so the function being differentiated is fixed.

# %%
net64 = net.astype(np.float64)
x64 = x[:2].astype(np.float64)
result = mz.gradcheck(net64, x64, loss=ce, labels=labels[:2], train=True, max_checks=20)
print(result)

# %% [markdown]
# ## 4. Why a random upstream gradient?
# A softmax outputs rows that sum to 1, so `sum(softmax(x))` is constant and
# its gradient is zero. A softmax whose backward wrongly returns zeros passes
# a check of `sum(f(x))`, and fails a check of `<dy, f(x)>` with random dy.


# %%
class BrokenSoftmax(mz.Layer):
    def forward(self, x, train=False):
        self._remember_input(x)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def backward(self, dy):
        return np.zeros_like(dy)          # the bug


z = rng.standard_normal((3, 4))
print("check of sum(f):       ", "passes" if mz.gradcheck(BrokenSoftmax(), z, dy=np.ones((3, 4))).passed else "fails")
print("check with a random dy:", "passes" if mz.gradcheck(BrokenSoftmax(), z).passed else "fails")

# %% [markdown]
# ## 5. Which layer is wrong? A per-layer report
# `gradcheck_layers` checks each layer alone on inputs of the shape it sees.
# We break conv2's input gradient on purpose (forgetting to flip the filters
# is the classic mistake) and let the report find it.

# %%
print(format_report(gradcheck_layers(net64, x64, max_checks=15)))
conv2 = net64["conv2"]
right_backward = conv2.backward


def unflipped_backward(dy):
    right_backward(dy)                                     # fills the weight gradients
    W = conv2.params["W"].transpose(1, 0, 2, 3)            # swapped channels, but not flipped
    return mz.functional.conv2d(dy, W, None, stride=1, pad=1)


conv2.backward = unflipped_backward
print("\nwith the bug:")
print(format_report(gradcheck_layers(net64, x64, max_checks=15)))
conv2.backward = right_backward

# %% [markdown]
# ## 6. Adjoint identities
# The input gradient of a convolution is a linear map: the transpose of the
# convolution itself. `adjoint_check` tests `<A x, y> == <x, A^T y>` with
# random x, y. This is the property the deconvnet relies on.

# %%
W = net64["conv1"].params["W"]
err = mz.adjoint_check(lambda v: mz.functional.conv2d(v, W, None, 1, 1),
                       lambda g: mz.functional.conv2d_backward_input(g, W, (2, 3, 16, 16), 1, 1),
                       x_shape=(2, 3, 16, 16), y_shape=(2, 8, 16, 16))
print(f"conv1 adjoint identity: relative error {err:.1e}")

# %% [markdown]
# ## 7. How the step size h matters
# Too large: truncation error (grows as h^2). Too small: rounding error
# (grows as 1/h). The table shows both sides; the best h depends on the
# function. gradcheck's default h = 1e-6 is not the best for this layer, but
# its error stays far below gradcheck's tolerance of 1e-6, which is what a
# default needs: safe for layers whose curvature is larger than this one's.

# %%
steps = [10.0 ** -k for k in range(1, 12)]
layer = net64["norm1"]
probe = rng.standard_normal((1, 8, 4, 4))
errors = [mz.gradcheck(layer, probe, eps=h).max_error for h in steps]
for h, e in zip(steps, errors):
    print(f"h = {h:.0e}: error {e:.1e}")
best = steps[int(np.argmin(errors))]
good = [h for h, e in zip(steps, errors) if e <= 1e-8]
print(f"smallest error at h = {best:.0e}; error below 1e-8 for h from {max(good):.0e} to {min(good):.0e}; "
      f"the default h = 1e-6 gives {errors[steps.index(1e-6)]:.1e}, below the tolerance 1e-6")
print("wrote", curve(steps, errors, os.path.join(OUT, "02_step_size.png"), xlabel="step h",
                     ylabel="gradient error", title="central differences: error vs. step", logy=True, logx=True))

# %% [markdown]
# ## Exercises
# Replace each `raise NotImplementedError`; the asserts must pass. Until
# you do, the solutions in `lessons/solutions/02_backprop_and_gradcheck.py`
# run. (`minizf assignment make layers` turns this into graded homework.)
#
# **Exercise 1.** One entry of a central difference: `(f(x + h e_i) - f(x - h e_i)) / 2h`,
# with x changed in place and restored exactly.

# %%
from minizf.lessons.exercises import attempt, check  # noqa: E402


def central_difference(f, x, i, eps=1e-6):
    raise NotImplementedError          # your code here


central_difference = attempt(central_difference, "02_backprop_and_gradcheck")
with check("central_difference", "change x.flat[i] in place, evaluate f at x + h and x - h, divide by 2h, and "
                                 "put the old value back exactly (x.flat[i] = old, not old + h - h)"):
    v = np.array([1.0, -2.0, 3.0])
    assert abs(central_difference(lambda: float((v ** 3).sum()), v, 1) - 12.0) < 1e-6
    assert (v == [1.0, -2.0, 3.0]).all()                  # restored
    assert abs(central_difference(lambda: float(np.sin(v).sum()), v, 0) - np.cos(1.0)) < 1e-8   # second order

# %% [markdown]
# **Exercise 2.** The backward of a fully connected layer `y = x W^T + b`:
# return `(dx, dW, db)` for an upstream gradient dy. The check is against
# central differences with a random dy.

# %%
def linear_backward_by_hand(dy, x, W):
    raise NotImplementedError          # your code here


linear_backward_by_hand = attempt(linear_backward_by_hand, "02_backprop_and_gradcheck")
xs, Ws, bs = rng.standard_normal((4, 5)), rng.standard_normal((3, 5)), rng.standard_normal(3)
dys = rng.standard_normal((4, 3))
with check("linear_backward_by_hand", "dx = dy W (N, in), dW = dy^T x (out, in), db = dy summed over the "
                                      "batch; a transposed W or a mean instead of a sum is the usual slip"):
    dx, dW, db = linear_backward_by_hand(dys, xs, Ws)
    f = lambda: float(((xs @ Ws.T + bs) * dys).sum())  # noqa: E731
    for got, array in ((dx, xs), (dW, Ws), (db, bs)):
        numeric = np.array([central_difference(f, array, i) for i in range(array.size)]).reshape(array.shape)
        assert np.allclose(got, numeric, rtol=1e-6, atol=1e-8)
print("exercises of lesson 2: done")
