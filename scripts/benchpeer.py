"""What the PyTorch comparison scripts share: the edgenas binary and the PyTorch peer.

PyTorch is a benchmark peer only: it is installed here, on first use, never by the
project's set-up or CI.
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def edgenas_binary(given=None):
    """The edgenas binary: `given`, or the release build (built now if needed)."""
    if given is not None:
        return given
    subprocess.check_call(["swift", "build", "-c", "release", "--product", "edgenas"], cwd=ROOT,
                          stdout=subprocess.DEVNULL)
    bin_path = subprocess.check_output(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, text=True)
    return os.path.join(bin_path.strip(), "edgenas")


def ensure_torch():
    """Imports torch, installing it with pip first when it is missing."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("installing PyTorch for the comparison (once, several minutes)...", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q", "torch"])


def ratio_columns(ours, peers, ours_over_peer, value_format):
    """One table column group per peer: its median, the ratio of medians and the spread of
    the per-round ratios. `ours` and each peer hold one value per round; the ratio is
    ours / peer when higher values are better (rates), peer / ours when lower are (seconds)."""
    import statistics

    def ratio(our, their):
        return our / their if ours_over_peer else their / our

    columns = []
    for values in peers:
        per_round = sorted(ratio(o, t) for o, t in zip(ours, values))
        columns.append(f" {statistics.median(values):{value_format}} {ratio(statistics.median(ours), statistics.median(values)):6.2f}"
                       f" {per_round[0]:5.2f}–{per_round[-1]:<5.2f}")
    return columns
