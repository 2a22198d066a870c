"""Models from elsewhere and back: PyTorch (``interop.torch``) and ONNX (``interop.onnx``).

A room of its own that only looks down (layers, net): the rest of minizf
never imports it, and neither torch nor onnx is needed until a function here
is called.
"""
