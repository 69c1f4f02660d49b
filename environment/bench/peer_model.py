"""PyTorch twin of the C# miniature, for the peer benchmark (environment/bench/peer_step.py).

The same computation as the library, module by module, with the same parameter names, so the state dict the
C# side exports (safetensors) loads strictly:
    llava.vision_tower.vision_model.*   CLIP vision tower        src/OlaVlm/Model/ClipVisionModel.cs, ClipEncoder.cs
    llava.mm_projector.{0,2}.*          mlp2x_gelu projector     src/OlaVlm/Model/Projector.cs
    llava.language_model.*              Llama decoder + LM head  src/OlaVlm/Model/Llama*.cs, RmsNorm.cs, RotaryEmbedding.cs
    ola.*                               task tokens, Perceiver predictors, logit scales   src/OlaVlm/Ola/*.cs
The batch is assembled per sample as MultimodalCollator (and LLaVA's prepare_inputs_labels_for_multimodal) do:
[text before <image> | image features | task tokens | text after], right-padded. The loss is
OlaVlmModel.forward's: next-token loss (+ the embedding loss of every (task, layer) predictor).

Runs on Debian's python3-torch 1.13, which has no F.scaled_dot_product_attention: attention is written out
(what the CPU math kernel computes anyway).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE = -100


# ---------------------------------------------------------------- Llama (src/OlaVlm/Model/Llama*.cs)

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):   # in fp32, cast back (as RmsNorm.cs and Hugging Face)
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_tables(positions, head_dim, theta, dtype):
    inv = 1.0 / torch.pow(theta, torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim)
    freqs = torch.einsum("bt,f->btf", positions.float(), inv)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def apply_rope(x, cos, sin):
    return x * cos.unsqueeze(1) + rotate_half(x) * sin.unsqueeze(1)


def attention(q, k, v, additive_mask=None):
    w = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    if additive_mask is not None:
        w = w + additive_mask
    return w.softmax(-1) @ v


class LlamaAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c["heads"], c["kv_heads"], c["hidden"] // c["heads"]
        d = c["hidden"]
        self.q_proj = nn.Linear(d, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.heads // self.kv_heads   # grouped-query attention: HF repeat_kv order
        k = k.unsqueeze(2).expand(b, self.kv_heads, rep, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        v = v.unsqueeze(2).expand(b, self.kv_heads, rep, t, self.head_dim).reshape(b, self.heads, t, self.head_dim)
        y = attention(q, k, v, mask.to(q.dtype))
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1))


class LlamaMlp(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["hidden"], c["intermediate"], bias=False)
        self.up_proj = nn.Linear(c["hidden"], c["intermediate"], bias=False)
        self.down_proj = nn.Linear(c["intermediate"], c["hidden"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = LlamaAttention(c)
        self.mlp = LlamaMlp(c)
        self.input_layernorm = RMSNorm(c["hidden"], c["rms_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden"], c["rms_eps"])

    def forward(self, x, cos, sin, mask):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return h + self.mlp(self.post_attention_layernorm(h))


class LlamaModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab"], c["hidden"])
        self.layers = nn.ModuleList([LlamaDecoderLayer(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["hidden"], c["rms_eps"])

    def forward(self, embeds, attention_mask, positions, output_hidden_states=False):
        """Hidden states as HF output_hidden_states (LlamaModel.cs): [embeddings, layer 1 .. layer L-1, norm(layer L)]."""
        t = embeds.shape[1]
        cos, sin = rope_tables(positions, self.c["hidden"] // self.c["heads"], self.c["rope_theta"], embeds.dtype)
        mask = causal_mask(attention_mask, t, embeds.dtype)
        h, hidden = embeds, [embeds]
        for i, layer in enumerate(self.layers):
            h = layer(h, cos, sin, mask)
            if i < len(self.layers) - 1:
                hidden.append(h)
        h = self.norm(h)
        hidden.append(h)
        return h, (hidden if output_hidden_states else None)


class LlamaForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = LlamaModel(c)
        self.lm_head = None if c["tie_word_embeddings"] else nn.Linear(c["hidden"], c["vocab"], bias=False)

    def head(self, h):
        return F.linear(h, self.model.embed_tokens.weight) if self.lm_head is None else self.lm_head(h)


def causal_mask(mask, t, dtype):
    """CausalMask.cs: 0 where query i may attend key j (j <= i and j a real token), the dtype's min elsewhere."""
    causal = torch.ones(t, t, dtype=torch.bool).tril()
    allowed = causal.unsqueeze(0) & mask.ne(0).unsqueeze(1)
    add = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)
    return add.unsqueeze(1)


def causal_lm_loss(logits, labels):
    v = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, v).float(), labels[:, 1:].reshape(-1), ignore_index=IGNORE)


# ---------------------------------------------------------------- CLIP vision tower (ClipVisionModel.cs)

class ClipVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.class_embedding = nn.Parameter(torch.zeros(c["hidden"]))
        self.patch_embedding = nn.Conv2d(c["channels"], c["hidden"], c["patch"], stride=c["patch"], bias=False)
        self.position_embedding = nn.Embedding((c["image_size"] // c["patch"]) ** 2 + 1, c["hidden"])

    def forward(self, pixels):
        patches = self.patch_embedding(pixels.to(self.class_embedding.dtype)).flatten(2).transpose(1, 2)
        cls = self.class_embedding.view(1, 1, -1).expand(patches.shape[0], 1, -1)
        return torch.cat([cls, patches], 1) + self.position_embedding.weight.unsqueeze(0)


class ClipAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.k_proj, self.v_proj = nn.Linear(width, width), nn.Linear(width, width)
        self.q_proj, self.out_proj = nn.Linear(width, width), nn.Linear(width, width)

    def forward(self, x):
        b, t, w = x.shape
        split = lambda y: y.view(b, t, self.heads, w // self.heads).transpose(1, 2)
        y = attention(split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x)))
        return self.out_proj(y.transpose(1, 2).reshape(b, t, w))


class ClipMlp(nn.Module):
    def __init__(self, width, intermediate):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(width, intermediate), nn.Linear(intermediate, width)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))   # quick-GELU


class ClipEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = ClipAttention(c["hidden"], c["heads"])
        self.layer_norm1 = nn.LayerNorm(c["hidden"], eps=c["eps"])
        self.mlp = ClipMlp(c["hidden"], c["intermediate"])
        self.layer_norm2 = nn.LayerNorm(c["hidden"], eps=c["eps"])

    def forward(self, x):
        h = x + self.self_attn(self.layer_norm1(x))
        return h + self.mlp(self.layer_norm2(h))


class ClipEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([ClipEncoderLayer(c) for _ in range(c["layers"])])


class ClipVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = ClipVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c["hidden"], eps=c["eps"])
        self.encoder = ClipEncoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden"], eps=c["eps"])


class ClipVisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.vision_model = ClipVisionTransformer(c)

    def forward(self, pixels):
        """Patch features of LLaVA's select layer (class token dropped); later layers are not run."""
        count = self.c["layers"] + 1
        index = self.c["select_layer"] % count
        vm = self.vision_model
        h = vm.pre_layrnorm(vm.embeddings(pixels))
        for layer in vm.encoder.layers[:index]:
            h = layer(h)
        return h[:, 1:, :]


# ---------------------------------------------------------------- LLaVA (LlavaModel.cs, MultimodalCollator.cs)

class LlavaModel(nn.Module):
    def __init__(self, spec):
        super().__init__()
        self.vision_tower = ClipVisionModel(spec["vision"]) if spec.get("vision") else None
        p = spec["projector"]
        self.mm_projector = nn.Sequential(nn.Linear(p["in"], p["out"]), nn.GELU(), nn.Linear(p["out"], p["out"]))
        self.language_model = LlamaForCausalLM(spec["llm"])
        self.image_token_id = spec["image_token_id"]

    def encode_images(self, pixels):
        with torch.no_grad():   # LLaVA's frozen tower: no graph, as LlavaModel.EncodeImages
            feats = self.vision_tower(pixels)
        return self.project(feats)

    def project(self, feats):
        dtype = self.language_model.model.embed_tokens.weight.dtype
        return self.mm_projector(feats.to(self.mm_projector[0].weight.dtype)).to(dtype)

    def assemble(self, samples, image_features, task_tokens=None):
        """MultimodalCollator.Assemble, right padding: embeds [B,T,H], mask [B,T], labels [B,T], positions [B,T],
        and per sample the first image position and first task-token position (-1 without an image)."""
        embed = self.language_model.model.embed_tokens
        dtype = embed.weight.dtype
        rows, image_start, task_start, k = [], [], [], 0
        for ids, labels in samples:
            ids_t = torch.tensor(ids, dtype=torch.long)
            if self.image_token_id not in ids:
                rows.append((embed(ids_t), list(labels)))
                image_start.append(-1); task_start.append(-1)
                continue
            p = ids.index(self.image_token_id)
            img = image_features[k].to(dtype); k += 1
            parts = [embed(ids_t[:p]), img]
            n_task = 0
            if task_tokens is not None:
                parts.append(task_tokens.to(dtype)); n_task = task_tokens.shape[0]
            parts.append(embed(ids_t[p + 1:]))
            rows.append((torch.cat(parts, 0), list(labels[:p]) + [IGNORE] * (img.shape[0] + n_task) + list(labels[p + 1:])))
            image_start.append(p); task_start.append(p + img.shape[0])
        if image_features is not None and k != image_features.shape[0]:
            raise ValueError(f"assemble: {image_features.shape[0]} image feature rows for {k} image samples")
        t = max(len(lab) for _, lab in rows)
        hidden = rows[0][0].shape[1]
        embeds = torch.stack([torch.cat([e, e.new_zeros(t - e.shape[0], hidden)], 0) for e, _ in rows])
        mask = torch.tensor([[1] * len(lab) + [0] * (t - len(lab)) for _, lab in rows], dtype=torch.long)
        labels = torch.tensor([lab + [IGNORE] * (t - len(lab)) for _, lab in rows], dtype=torch.long)
        positions = (mask.cumsum(-1) - 1).masked_fill(mask.eq(0), 1)
        return embeds, mask, labels, positions, image_start, task_start


# ---------------------------------------------------------------- OLA-VLM heads (src/OlaVlm/Ola/*.cs)

class PerceiverAttention(nn.Module):
    def __init__(self, dim, dim_head, heads):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        inner = dim_head * heads
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, inner * 2, bias=False)
        self.to_out = nn.Linear(inner, dim, bias=False)

    def split(self, t):
        return t.view(t.shape[0], t.shape[1], self.heads, self.dim_head).transpose(1, 2)

    def forward(self, x, latents, media_mask):
        b, q = latents.shape[0], latents.shape[1]
        xn, ln = self.norm1(x), self.norm2(latents)
        qh = self.split(self.to_q(ln))
        k, v = self.to_kv(torch.cat([xn, ln], 1)).chunk(2, -1)
        kh, vh = self.split(k), self.split(v)
        s = 1.0 / math.sqrt(math.sqrt(self.dim_head))   # dh^-1/4 on q and k, as the reference
        w = torch.einsum("bhqd,bhkd->bhqk", qh * s, kh * s)
        if media_mask is not None:
            keep = torch.cat([media_mask.bool(), torch.ones(b, q, dtype=torch.bool)], 1)
            w = w.masked_fill(~keep.view(b, 1, 1, -1), float("-inf"))
        w = w.float().softmax(-1).to(vh.dtype)
        o = torch.einsum("bhqk,bhkd->bhqd", w, vh).permute(0, 2, 1, 3).reshape(b, q, self.heads * self.dim_head)
        return self.to_out(o)


def feed_forward(dim, mult):
    return nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim * mult, bias=False), nn.GELU(), nn.Linear(dim * mult, dim, bias=False))


def fit_queries(latents, num_queries):
    """QueryTiling.Fit for [B, n, D]: as given, tiled (torch repeat), or the mean repeated."""
    n = latents.shape[1]
    if n == num_queries:
        return latents
    if num_queries > 1 and num_queries % n == 0:
        return latents.repeat(1, num_queries // n, 1)
    return latents.mean(1, keepdim=True).repeat(1, num_queries, 1)


class EmbeddingPredictor(nn.Module):
    def __init__(self, hidden, inner, target_dim, heads, dim_head, ff_mult, depth, num_queries):
        super().__init__()
        self.num_queries = num_queries
        self.proj_in = nn.Linear(hidden, inner)
        self.layers = nn.ModuleList([nn.ModuleList([PerceiverAttention(inner, dim_head, heads), feed_forward(inner, ff_mult)])
                                     for _ in range(depth)])
        self.proj_out = nn.Linear(inner, target_dim)
        self.norm_out = nn.LayerNorm(target_dim)

    def forward(self, hidden, media_mask, queries):
        b = hidden.shape[0]
        if queries.dim() == 2:
            queries = queries.unsqueeze(0).expand(b, -1, -1)
        if self.num_queries is not None:
            queries = fit_queries(queries, self.num_queries)
        media = self.proj_in(hidden)
        latents = self.proj_in(queries.to(hidden.dtype))
        for attn, ff in self.layers:
            latents = attn(media, latents, media_mask) + latents
            latents = ff(latents) + latents
        return self.norm_out(self.proj_out(latents))


class TaskTokens(nn.Module):
    def __init__(self, ola, hidden):
        super().__init__()
        self.order, self.n, self.hidden = ola["tasks"], ola["num_task_tokens"], hidden
        for task in self.order:
            rows = max(self.n, 1) if task == "gen" else ola["specs"][task]["tokens"]
            self.register_parameter(f"special_{task}_tokens", nn.Parameter(torch.zeros(rows, hidden)))

    def query(self, task):
        return getattr(self, f"special_{task}_tokens")

    def offset(self, task):
        return self.order.index(task) * self.n

    def sequence_tokens(self, task):
        p = self.query(task)
        if task == "gen":
            return p
        return p.view(self.n, p.shape[0] // self.n, self.hidden).mean(1)   # reference "expand_emb"

    def sequence(self):
        return torch.cat([self.sequence_tokens(t) for t in self.order], 0)


def task_media_masks(attention_mask, image_start, task_start, ola):
    """TaskMasks.Build, vectorised: a task's predictor reads [system | image | its own task tokens | text],
    never the other tasks' tokens or padding."""
    b, t = attention_mask.shape
    n, block = ola["num_task_tokens"], len(ola["tasks"]) * ola["num_task_tokens"]
    pos = torch.arange(t).unsqueeze(0)
    img = torch.tensor(image_start).unsqueeze(1)
    ts = torch.tensor(task_start).unsqueeze(1)
    has = img >= 0
    valid = attention_mask.bool()
    masks = {}
    for k, task in enumerate(ola["tasks"]):
        in_block = (pos >= ts) & (pos < ts + block)
        mine = (pos >= ts + k * n) & (pos < ts + (k + 1) * n)
        read_img = valid & ~(in_block & ~mine)
        if not ola["pass_system"]:
            read_img = read_img & ~(pos < img)
        if not ola["pass_text"]:
            read_img = read_img & ~(pos >= ts + block)
        read_txt = valid if ola["pass_text"] else torch.zeros_like(valid)
        masks[task] = torch.where(has, read_img, read_txt)
    return masks


def embedding_loss(pred, target, has_image, logit_scale, max_scale, reduction):
    """EmbeddingLoss.Compute: (smooth-L1, InfoNCE), reduced as OlaConfig.LossReduction says."""
    p, t = pred.float(), target.float()
    mask = has_image
    zero = torch.zeros(())
    if reduction == "ImageSamplesOnly":
        idx = mask.nonzero().view(-1)
        if idx.numel() == 0:
            return zero, zero
        p, t = p.index_select(0, idx), t.index_select(0, idx)
        sl1 = F.smooth_l1_loss(p, t)
        return sl1, (zero if logit_scale is None else info_nce_per_sample(p, t, logit_scale, max_scale).mean())
    per_element = F.smooth_l1_loss(p, t, reduction="none")
    row_mask = mask.view([mask.shape[0]] + [1] * (p.dim() - 1))
    sl1 = torch.where(row_mask, per_element, zero).mean()
    if logit_scale is None:
        return sl1, zero
    per_sample = info_nce_per_sample(p, t, logit_scale, max_scale)
    if reduction == "MaskedBatchMean":
        return sl1, torch.where(mask, per_sample, zero).mean()
    if reduction == "ReleasedBroadcast":
        return sl1, mask.float().mean() * per_sample.mean()
    raise ValueError(f"unknown embedding-loss reduction '{reduction}'")


def info_nce_per_sample(preds, targets, logit_scale, max_scale):
    p = F.normalize(preds.flatten(1).float(), dim=-1)
    t = F.normalize(targets.flatten(1).float(), dim=-1)
    logits = (p @ t.t()) * logit_scale.float().exp().clamp_max(max_scale)
    return F.cross_entropy(logits, torch.arange(p.shape[0]), reduction="none")


class OlaHeads(nn.Module):
    def __init__(self, ola, hidden):
        super().__init__()
        self.ola = ola
        pr = ola["predictor"]
        for task in ola["tasks"]:
            s = ola["specs"][task]
            heads = nn.ModuleList([EmbeddingPredictor(hidden, s["inner_dim"], s["dim"], pr["heads"], pr["dim_head"], pr["ff_mult"],
                                                      pr["depth"], s["tokens"]) for _ in s["layers"]])
            self.add_module(f"image_{task}_heads", heads)
            if ola["use_contrastive"]:
                self.register_parameter(f"{task}_logit_scale", nn.Parameter(torch.zeros(())))
        self.task_tokens = TaskTokens(ola, hidden)

    def gen_latents(self, h, task_start):
        """The N <gen> hidden states at this layer ([B, N, H]); the learned gen parameter for samples without them."""
        param = self.task_tokens.query("gen").to(h.dtype)
        n = self.ola["num_task_tokens"]
        if n == 0:
            return param
        b = h.shape[0]
        ts = torch.tensor(task_start).unsqueeze(1)
        own = ts >= 0
        pos = torch.where(own, ts + self.task_tokens.offset("gen") + torch.arange(n).unsqueeze(0), torch.zeros_like(ts))
        gathered = h.gather(1, pos.unsqueeze(-1).expand(b, n, h.shape[2]))
        return torch.where(own.view(b, 1, 1), gathered, param.unsqueeze(0).expand(b, -1, -1))

    def forward(self, hidden_states, attention_mask, image_start, task_start, targets):
        ola = self.ola
        masks = task_media_masks(attention_mask, image_start, task_start, ola)
        has_image = torch.tensor([s >= 0 for s in image_start])
        loss = torch.zeros(())
        for task in ola["tasks"]:
            s = ola["specs"][task]
            scale = getattr(self, f"{task}_logit_scale") if ola["use_contrastive"] else None
            for i, layer in enumerate(s["layers"]):
                h = hidden_states[layer]   # entry 0 is the embeddings: entry l is layer l's output
                queries = self.gen_latents(h, task_start) if task == "gen" else self.task_tokens.query(task)
                pred = getattr(self, f"image_{task}_heads")[i](h, masks[task], queries)
                sl1, nce = embedding_loss(pred, targets[task], has_image, scale, ola["logit_scale_max"], ola["loss_reduction"])
                loss = loss + s["loss_weight"] * (sl1 + ola["contrastive_weight"] * nce)
        return loss


class OlaVlm(nn.Module):
    """OlaVlmModel: LLaVA + OLA heads (ola None: the LLaVA-1.5 baseline)."""

    def __init__(self, spec):
        super().__init__()
        self.llava = LlavaModel(spec)
        self.ola = OlaHeads(spec["ola"], spec["llm"]["hidden"]) if spec.get("ola") else None

    def loss(self, samples, pixels=None, image_features=None, targets=None):
        """Total training loss of one batch (OlaVlmModel.forward's Total): NTP (+ embedding loss)."""
        feats = self.llava.encode_images(pixels) if pixels is not None else \
            (self.llava.project(image_features) if image_features is not None else None)
        heads = self.ola is not None and targets is not None
        task_seq = self.ola.task_tokens.sequence() if self.ola is not None and self.ola.ola["num_task_tokens"] > 0 else None
        embeds, mask, labels, positions, image_start, task_start = self.llava.assemble(samples, feats, task_seq)
        lm = self.llava.language_model
        last, hidden = lm.model(embeds, mask, positions, output_hidden_states=heads)
        ntp = causal_lm_loss(lm.head(last), labels)
        if not heads:
            return ntp.float()
        return ntp.float() + self.ola(hidden, mask, image_start, task_start, targets)
