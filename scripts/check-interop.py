"""Opens a finished imbal-dist run with the Python libraries researchers use, and checks that
they read what imbal-dist wrote: the checkpoints with `safetensors` (numpy), the TensorBoard
events with tensorboard's own EventAccumulator. Prints one line per check; exits 1 on failure.

    .build/python-venv/bin/python scripts/check-interop.py runs/NAME
"""
import csv
import json
import math
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def main(run):
    best = load_file(f"{run}/best.safetensors")
    last = load_file(f"{run}/last.safetensors")
    state = load_file(f"{run}/last.state.safetensors")
    assert list(best) == list(last), "best and last hold different tensors"
    assert all(v.dtype == np.float32 for v in best.values()), "a tensor is not float32"
    assert all(np.isfinite(v).all() for v in best.values()), "a parameter is not finite"
    # Batch norm's running statistics are buffers: saved with the parameters, without momentum.
    buffers = [k for k in last if k.endswith((".running_mean", ".running_var"))]
    assert buffers, "the run's model has no batch-norm running statistics"
    assert all(np.all(last[k] > 0) for k in buffers if k.endswith("running_var")), "a running variance is not positive"
    trained = [k for k in last if k not in buffers]
    assert sorted(state) == sorted("momentum." + k for k in trained), "momentum tensors do not match the parameters"
    with safe_open(f"{run}/best.safetensors", framework="numpy") as f:
        epoch = int(f.metadata()["epoch"])
    with open(f"{run}/test.json") as f:
        assert json.load(f)["epoch"] == epoch, "test.json names another epoch than best.safetensors"
    print(f"safetensors: {len(best)} tensors ({len(buffers)} buffers), {sum(last[k].size for k in trained)} parameters, best epoch {epoch}")

    events = EventAccumulator(run)
    events.Reload()
    for split, log in (("train", "train.csv"), ("valid", "valid.csv")):
        with open(f"{run}/{log}") as f:
            rows = list(csv.DictReader(f))
        pixels = rows and rows[0]["miou"] != ""
        columns = ("loss", "accuracy", "macro_f1", "balanced_accuracy", "lr")
        for column in columns + (("miou", "fwiou") if pixels else ("many_shot_accuracy",)):
            scalars = events.Scalars(f"{split}/{column}")
            assert [s.step for s in scalars] == [int(r["step"]) for r in rows], f"{split}/{column}: steps differ"
            for s, r in zip(scalars, rows):
                assert math.isclose(s.value, float(r[column]), rel_tol=1e-6, abs_tol=1e-7), f"{split}/{column}"
        print(f"tensorboard: {split} scalars match {log} ({len(rows)} rows)")
        if pixels and split == "valid":
            # Per-class IoU under valid/iou/<class>: their mean at each step is the row's mIoU.
            tags = [t for t in events.Tags()["scalars"] if t.startswith("valid/iou/")]
            assert tags, "no valid/iou/<class> scalars"
            for r in rows:
                step = int(r["step"])
                values = [s.value for t in tags for s in events.Scalars(t) if s.step == step]
                assert math.isclose(sum(values) / len(values), float(r["miou"]), rel_tol=1e-5), "valid/iou mean"
            print(f"tensorboard: the mean of {len(tags)} valid/iou scalars is valid.csv's miou")


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except AssertionError as error:
        print(f"interop check failed: {error}", file=sys.stderr)
        sys.exit(1)
