"""Peak memory and wall time of the figure commands, each run as a user runs it.

    python benchmarks/memory.py                       # the bundled 64 px model
    python benchmarks/memory.py --onnx resnet18.onnx  # and a 224 px ImageNet model (ImageNet's mean and std)

Every command runs in a fresh process; its peak resident set size comes from the kernel
(``os.wait4``'s rusage), its time from the wall clock. Results go to
``benchmarks/results/memory.json``; the README's reliability page quotes them. Run on an idle
machine: the times are the ones a user waits.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

PHOTO = "english_springer/n02102040_1100.jpg"
IMAGENET = ["--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225", "--input-size", "224"]


def measure(argv):
    """(peak RSS in MB, seconds, exit status) of ``python -m minizf.cli *argv``."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "minizf.cli", *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=os.path.dirname(HERE))
    _, status, usage = os.wait4(process.pid, 0)
    return usage.ru_maxrss / 1024, time.perf_counter() - start, os.waitstatus_to_exitcode(status)


def commands(out, onnx=None):
    """(label, argv) of every figure command on the bundled model, and on ``onnx`` at 224 px if given."""
    found = [("tour, 64 px", ["tour", "--out", f"{out}/tour", "--quiet"]),
             ("topk, 64 px", ["topk", "--out", out]),
             ("evolution, 64 px", ["evolution", "--out", out]),
             ("invariance, 64 px", ["invariance", "--out", out]),
             ("filters, 64 px", ["filters", "--out", out]),
             ("occlude, 64 px", ["occlude", PHOTO, "--out", out]),
             ("correspondence, 64 px", ["correspondence", "--out", out]),
             ("explore conv5, 64 px", ["explore", "--layers", "conv5", "--out", f"{out}/explore", "--quiet"])]
    if onnx:
        model = ["--model", onnx, *IMAGENET]
        found += [("tour, 224 px", ["tour", *model, "--out", f"{out}/tour224", "--quiet"]),
                  ("topk, 224 px", ["topk", *model, "--out", out]),
                  ("occlude, 224 px", ["occlude", PHOTO, *model, "--out", out])]
    return found


def main():
    onnx = sys.argv[sys.argv.index("--onnx") + 1] if "--onnx" in sys.argv else None
    rows = []
    with tempfile.TemporaryDirectory() as out:
        for label, argv in commands(out, onnx):
            peak, seconds, status = measure(argv)
            rows.append({"command": label, "peak_mb": round(peak), "seconds": round(seconds, 1), "status": status})
            print(f"{label:<26} {peak:7.0f} MB {seconds:7.1f} s{'' if status == 0 else f'  (exit {status})'}",
                  flush=True)
    with open(os.path.join(HERE, "results", "memory.json"), "w") as f:
        json.dump({"onnx": os.path.basename(onnx) if onnx else None, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
