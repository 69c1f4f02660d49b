#!/usr/bin/python3
"""Checks a LoRA adapter folder written by OlaVlm.Training.LoraCheckpoint the way PEFT and LLaVA would read it.

    check_peft_adapter.py ADAPTER_DIR BASE.safetensors MERGED.safetensors

ADAPTER_DIR holds adapter_config.json, adapter_model.safetensors and non_lora_trainables.bin. BASE and MERGED are
the model's weights under LLaVA's names (model.layers.0.self_attn.q_proj.weight, model.mm_projector.0.weight, ...)
before and after the C# side merged the adapters. The script:
  1. reads adapter_config.json and requires PEFT's LoRA fields (peft_type LORA, task_type CAUSAL_LM, bias none,
     fan_in_fan_out false, integer r, lora_alpha, target_modules);
  2. parses adapter_model.safetensors from its bytes (no safetensors package: an 8-byte little-endian header length,
     a JSON header of name -> dtype/shape/data_offsets, then the raw data) and requires every key to be
     base_model.model.<module>.lora_A.weight [r, in] or .lora_B.weight [out, r], with the module's last name in
     target_modules, both halves present, and an adapter on every targeted Linear of BASE;
  3. requires W + (lora_alpha / r) * B @ A to equal MERGED's weight for every adapted module;
  4. loads non_lora_trainables.bin with torch.load (as LLaVA's builder does) and requires its tensors, named
     base_model.model.model.mm_projector.*, to equal MERGED's.
Prints one JSON line with the counts and the largest merge error; exits 1 with a message on the first problem.
Needs only Debian's python3-torch (torch 1.13) and numpy.
"""
import json
import re
import struct
import sys

import numpy as np
import torch

TOLERANCE = 1e-5
DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64}


def fail(message):
    print(f"check_peft_adapter: {message}", file=sys.stderr)
    sys.exit(1)


def read_safetensors(path):
    """name -> float32 torch tensor, from the file's own bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        fail(f"{path}: shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > len(raw) - 8:
        fail(f"{path}: header length {n} does not fit a {len(raw)}-byte file")
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        chunk = data[begin:end]
        if info["dtype"] == "BF16":
            # bfloat16 is the top half of a float32: widen by shifting the 16 bits up.
            values = (np.frombuffer(chunk, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif info["dtype"] in DTYPES:
            values = np.frombuffer(chunk, dtype=np.dtype(DTYPES[info["dtype"]]).newbyteorder("<"))
        else:
            fail(f"{path}: {name} has dtype {info['dtype']}, which this check does not read")
        if values.size != int(np.prod(info["shape"])):
            fail(f"{path}: {name} holds {values.size} values for shape {info['shape']}")
        out[name] = torch.from_numpy(values.astype(np.float32).reshape(info["shape"]))
    return out


def check_config(path):
    with open(path) as f:
        cfg = json.load(f)
    expected = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "bias": "none", "fan_in_fan_out": False}
    for key, value in expected.items():
        if cfg.get(key) != value:
            fail(f"{path}: {key} is {cfg.get(key)!r}, PEFT's LoRA layout needs {value!r}")
    if not isinstance(cfg.get("r"), int) or cfg["r"] < 1:
        fail(f"{path}: r must be a positive integer, got {cfg.get('r')!r}")
    if not isinstance(cfg.get("lora_alpha"), (int, float)):
        fail(f"{path}: lora_alpha missing")
    targets = cfg.get("target_modules")
    if not isinstance(targets, list) or not targets:
        fail(f"{path}: target_modules must be a non-empty list")
    return cfg


def main():
    if len(sys.argv) != 4:
        fail("usage: check_peft_adapter.py ADAPTER_DIR BASE.safetensors MERGED.safetensors")
    adapter_dir, base_path, merged_path = sys.argv[1:]
    torch.set_num_threads(2)
    cfg = check_config(f"{adapter_dir}/adapter_config.json")
    r, scale, targets = cfg["r"], cfg["lora_alpha"] / cfg["r"], set(cfg["target_modules"])
    adapters = read_safetensors(f"{adapter_dir}/adapter_model.safetensors")
    base, merged = read_safetensors(base_path), read_safetensors(merged_path)

    pattern = re.compile(r"^base_model\.model\.(.+)\.(lora_A|lora_B)\.weight$")
    modules = {}
    for key, tensor in adapters.items():
        m = pattern.match(key)
        if not m:
            fail(f"adapter_model.safetensors: key {key!r} is not PEFT's base_model.model.<module>.lora_A/B.weight")
        module, half = m.groups()
        if module.split(".")[-1] not in targets:
            fail(f"{key}: module {module!r} is not among target_modules {sorted(targets)}")
        modules.setdefault(module, {})[half] = tensor
    worst = 0.0
    for module, halves in sorted(modules.items()):
        if set(halves) != {"lora_A", "lora_B"}:
            fail(f"{module}: has {sorted(halves)}, needs lora_A and lora_B")
        a, b = halves["lora_A"], halves["lora_B"]
        w = base.get(module + ".weight")
        if w is None:
            fail(f"{module}.weight: not in {base_path}")
        if a.shape != (r, w.shape[1]) or b.shape != (w.shape[0], r):
            fail(f"{module}: lora_A {tuple(a.shape)}, lora_B {tuple(b.shape)} do not fit r={r} and weight {tuple(w.shape)}")
        expected = w.double() + scale * (b.double() @ a.double())
        error = (expected - merged[module + ".weight"].double()).abs().max().item()
        worst = max(worst, error)
        if error > TOLERANCE:
            fail(f"{module}: W + (alpha/r) B A differs from the merged weight by {error:.3g} (> {TOLERANCE})")
    # Every Linear the targets name (outside the vision side, as LLaVA's rule) must carry an adapter.
    vision = ("mm_projector", "vision_tower", "vision_resampler")
    targeted = {k[: -len(".weight")] for k, t in base.items()
                if k.endswith(".weight") and t.dim() == 2 and k.split(".")[-2] in targets and not any(v in k for v in vision)}
    if targeted - set(modules):
        fail(f"targeted modules without an adapter: {sorted(targeted - set(modules))[:5]}")

    rest = torch.load(f"{adapter_dir}/non_lora_trainables.bin", map_location="cpu")
    for key, tensor in rest.items():
        if not key.startswith("base_model.model.model.mm_projector."):
            fail(f"non_lora_trainables.bin: unexpected key {key!r}")
        name = key[len("base_model.model."):]
        if name not in merged or not torch.equal(tensor.float(), merged[name]):
            fail(f"non_lora_trainables.bin: {key} differs from the model's {name}")
    print(json.dumps({"adapted_modules": len(modules), "r": r, "scale": scale, "max_merge_error": worst,
                      "non_lora_tensors": len(rest), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
