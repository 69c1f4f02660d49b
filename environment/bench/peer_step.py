#!/usr/bin/python3
"""The PyTorch side of the peer benchmark (OlaVlm.Perf.PeerBenchmark): one long-lived process per workload.

    /usr/bin/python3 peer_step.py EXPORT_DIR --threads N

EXPORT_DIR is what the C# side wrote (OlaVlm.Perf.PeerExport): spec.json (model shapes, the batch's samples,
which parameters train in which AdamW group), weights.safetensors (every parameter, fp32) and
batch.safetensors (pixels or image features, teacher targets). This script rebuilds the same model
(peer_model.py), loads the weights strictly, runs the first training step at once and prints

    {"event": "ready", "loss": .., "grad_norm": .., "threads": N, ...}

so the C# side can check that both did the same work before anything is timed. Then it reads commands from
stdin, one per line, and answers each with one JSON line on stdout:

    run K    -> {"event": "round", "steps": K, "seconds": total, "step_seconds": [...], "loss": last}
    quit     -> exits

A training step is what the C# step does: zero_grad, loss (forward), backward, clip_grad_norm_, AdamW step,
loss.item(). Errors go to stderr with a non-zero exit.
"""
import argparse, json, os, sys, time


def parse():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, required=True, help="intra-op threads (torch and OpenBLAS alike)")
    return ap.parse_args()


A = parse()
# Thread pools are sized when the libraries load, so this precedes `import torch`. Debian's PyTorch calls
# OpenBLAS (pthreads build), whose own pool ignores torch.set_num_threads: without OPENBLAS_NUM_THREADS it
# would use every core while torch reports the number asked for.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(A.threads)

import torch  # noqa: E402
import peer_model  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "BF16": torch.bfloat16, "F16": torch.float16,
          "I64": torch.int64, "I32": torch.int32, "U8": torch.uint8, "BOOL": torch.bool}


def load_safetensors(path):
    """The safetensors format by hand (8-byte header length, JSON header, raw little-endian data): Debian has
    no python3-safetensors."""
    with open(path, "rb") as f:
        data = f.read()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    base, out = 8 + n, {}
    for key, v in header.items():
        if key == "__metadata__":
            continue
        if v["dtype"] not in DTYPES:
            raise ValueError(f"{path}: tensor '{key}' has dtype {v['dtype']}, which this reader does not know")
        start, end = v["data_offsets"]
        flat = torch.frombuffer(bytearray(data[base + start:base + end]), dtype=DTYPES[v["dtype"]]) if end > start \
            else torch.empty(0, dtype=DTYPES[v["dtype"]])
        out[key] = flat.reshape(v["shape"])
    return out


def openblas_threads():
    try:
        import ctypes
        return ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def fail(message):
    print(f"peer_step.py: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def build(spec, weights):
    model = peer_model.OlaVlm(spec)
    own = dict(model.named_parameters())
    missing = sorted(set(own) - set(weights))
    unknown = sorted(set(weights) - set(own))
    shapes = [f"{k}: C# {list(weights[k].shape)} vs here {list(own[k].shape)}"
              for k in own if k in weights and tuple(weights[k].shape) != tuple(own[k].shape)]
    if missing or unknown or shapes:
        fail(f"weights.safetensors does not fit peer_model.py: missing {missing[:8]}, unknown {unknown[:8]}, shapes {shapes[:8]}")
    with torch.no_grad():
        for k, p in own.items():
            p.copy_(weights[k])
    for p in model.parameters():
        p.requires_grad_(False)
    groups = []
    for g in spec["train"]["groups"]:
        params = [own[name] for name in g["params"]]
        for p in params:
            p.requires_grad_(True)
        groups.append({"params": params, "lr": g["lr"], "weight_decay": g["weight_decay"]})
    t = spec["train"]
    opt = torch.optim.AdamW(groups, lr=t["lr"], betas=(t["beta1"], t["beta2"]), eps=t["eps"], weight_decay=t["weight_decay"])
    trainable = [p for g in groups for p in g["params"]]
    return model, opt, trainable


def main():
    torch.set_num_threads(A.threads)
    spec = json.load(open(os.path.join(A.dir, "spec.json")))
    if spec.get("dtype", "float32") != "float32":
        fail(f"spec.json asks for {spec['dtype']}; the peer compares fp32 steps only")
    model, opt, trainable = build(spec, load_safetensors(os.path.join(A.dir, "weights.safetensors")))
    batch = load_safetensors(os.path.join(A.dir, "batch.safetensors"))
    samples = [(s["ids"], s["labels"]) for s in spec["samples"]]
    targets = {k[len("target."):]: v for k, v in batch.items() if k.startswith("target.")} or None
    pixels, features = batch.get("pixels"), batch.get("image_features")
    max_norm = spec["train"]["max_grad_norm"]
    model.train()

    def step():
        opt.zero_grad()
        loss = model.loss(samples, pixels=pixels, image_features=features, targets=targets)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(trainable, max_norm if max_norm > 0 else float("inf"))
        opt.step()
        return loss.item(), float(norm)

    loss, norm = step()
    print(json.dumps({"event": "ready", "workload": spec["workload"], "loss": loss, "grad_norm": norm,
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "interop_threads": torch.get_num_interop_threads(), "openblas_threads": openblas_threads(),
                      "trainable": sum(p.numel() for p in trainable)}), flush=True)

    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "quit":
            return
        if cmd[0] != "run" or len(cmd) != 2:
            fail(f"unknown command '{line.strip()}' (expected 'run K' or 'quit')")
        times = []
        for _ in range(int(cmd[1])):
            t0 = time.perf_counter()
            loss, _ = step()
            times.append(time.perf_counter() - t0)
        print(json.dumps({"event": "round", "steps": len(times), "seconds": sum(times), "step_seconds": times, "loss": loss}),
              flush=True)


if __name__ == "__main__":
    main()
