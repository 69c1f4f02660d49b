#!/usr/bin/python3
"""PyTorch peer of OlaVlm.Model.ModelBenchmarks.PtStepThroughput (the C# side runs it via
OlaVlm.Foundation.PeerBenchmark.Compare).

The same pre-training (PT) step: a frozen Llama-style decoder (4 layers, d=256, 8 heads / 4 KV heads,
SwiGLU 688, RMSNorm, RoPE, tied embeddings, vocab 1024) fed [BOS | projected image features | text];
only the mlp2x_gelu projector learns (AdamW lr 1e-3). Batch B, sequence T (half image tokens); the
image placeholder is replaced by T/2 - 1 feature rows, so each sample is T - 1 tokens long, like the C#
collator. Prints one JSON line: {"impl": "pytorch", "samples_per_s": ..., ...}.

Runs on Debian's python3-torch (1.13, no scaled_dot_product_attention: attention is written out, which
is what the CPU math kernel does anyway). Usage: /usr/bin/python3 pt_step_pytorch.py [--steps 5] [--batch 16] [--seq 128]
"""
import argparse, json, math, os, time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_tables(pos, head_dim, theta, dtype):
    inv = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    freqs = torch.einsum("bt,f->btf", pos.float(), inv)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def apply_rope(x, cos, sin):
    return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)


class Attention(nn.Module):
    def __init__(self, d, heads, kv_heads):
        super().__init__()
        self.heads, self.kv, self.hd = heads, kv_heads, d // heads
        self.q_proj = nn.Linear(d, heads * self.hd, bias=False)
        self.k_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(d, kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(heads * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv, self.hd).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.heads // self.kv
        k = k.unsqueeze(2).expand(b, self.kv, rep, t, self.hd).reshape(b, self.heads, t, self.hd)
        v = v.unsqueeze(2).expand(b, self.kv, rep, t, self.hd).reshape(b, self.heads, t, self.hd)
        if hasattr(F, "scaled_dot_product_attention"):
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask.to(q.dtype))
        else:
            att = (q @ k.transpose(-2, -1)) / math.sqrt(self.hd) + mask.to(q.dtype)
            y = att.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, d, inter):
        super().__init__()
        self.gate_proj = nn.Linear(d, inter, bias=False)
        self.up_proj = nn.Linear(d, inter, bias=False)
        self.down_proj = nn.Linear(inter, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, d, inter, heads, kv_heads):
        super().__init__()
        self.input_layernorm = RMSNorm(d)
        self.self_attn = Attention(d, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(d)
        self.mlp = MLP(d, inter)

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class Llama(nn.Module):
    def __init__(self, vocab=1024, d=256, inter=688, layers=4, heads=8, kv_heads=4, theta=10000.0):
        super().__init__()
        self.embed_tokens = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([Block(d, inter, heads, kv_heads) for _ in range(layers)])
        self.norm = RMSNorm(d)
        self.hd, self.theta = d // heads, theta
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)

    def forward(self, embeds):
        b, t, _ = embeds.shape
        pos = torch.arange(t).unsqueeze(0).expand(b, t)
        cos, sin = rope_tables(pos, self.hd, self.theta, embeds.dtype)
        mask = torch.full((t, t), float("-inf")).triu(1).view(1, 1, t, t)   # causal, no padding
        h = embeds
        for layer in self.layers:
            h = layer(h, cos, sin, mask)
        return F.linear(self.norm(h), self.embed_tokens.weight)            # tied LM head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="0 = torch's default")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    vision_width, vocab = 256, 1024
    image_tokens = a.seq // 2
    text_tokens = a.seq - image_tokens
    lm = Llama(vocab)
    for p in lm.parameters():
        p.requires_grad_(False)
    projector = nn.Sequential(nn.Linear(vision_width, 256), nn.GELU(), nn.Linear(256, 256))
    opt = torch.optim.AdamW(projector.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(0)
    # Per sample: [BOS, <image>, text...]; <image> becomes image_tokens - 1 feature rows.
    text = torch.randint(5, vocab, (a.batch, text_tokens - 1), generator=g)
    feats = torch.randn(a.batch, image_tokens - 1, vision_width)
    bos = torch.ones(a.batch, 1, dtype=torch.long)
    ignore = torch.full((a.batch, 1 + image_tokens - 1), -100, dtype=torch.long)
    labels = torch.cat([ignore, text], 1)

    def step():
        opt.zero_grad()
        proj = projector(feats)
        embeds = torch.cat([lm.embed_tokens(bos), proj, lm.embed_tokens(text)], 1)
        logits = lm(embeds)
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, vocab).float(), labels[:, 1:].reshape(-1), ignore_index=-100)
        loss.backward()
        opt.step()
        return loss.item()

    step(); step()   # warm-up
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    secs = time.perf_counter() - t0
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "batch": a.batch, "seq": a.seq, "layers": 4, "d": 256, "steps": a.steps,
        "sec_per_step": secs / a.steps, "samples_per_s": a.steps * a.batch / secs,
    }))


if __name__ == "__main__":
    main()
