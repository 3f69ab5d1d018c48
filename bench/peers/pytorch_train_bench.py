"""PyTorch peer for `condense-bench train-step`: the same two models and the same training step, in plain PyTorch.

Written for Debian's PyTorch 1.13 (run it with /usr/bin/python3). The models mirror
src/Condense.Vision/Models/VisionTransformer.cs (timm vision_transformer.py) and
src/Condense.Language/Models/Llama.cs (HF modeling_llama.py), with the same parameter names, init and shapes.

Deviations from the Condense models: PyTorch 1.13 has no scaled_dot_product_attention, so attention is written out
(softmax(q k^T / sqrt(hd)) v, with a causal mask for LLaMA).

Prints one JSON line:
{"framework":"pytorch","model":...,"items_per_s":...,"step_ms":[...],"loss_first":...,"loss_last":...}
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------------------------------------------
# ViT (timm names)

class PatchEmbed(nn.Module):
    def __init__(self, in_chans, dim, patch):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, dim, patch, stride=patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, N, C)


class Attention(nn.Module):
    def __init__(self, dim, num_heads):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)  # (3, B, nh, N, hd)
        q, k, v = qkv.unbind(0)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # (B, nh, N, N)
        y = att.softmax(dim=-1) @ v  # (B, nh, N, hd)
        return self.proj(y.transpose(1, 2).reshape(B, N, C))  # (B, N, C)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1, self.act, self.fc2 = nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    def __init__(self, img=224, patch=16, in_chans=3, dim=192, depth=12, num_heads=3, mlp_ratio=4.0, classes=1000):
        super().__init__()
        self.patch_embed = PatchEmbed(in_chans, dim, patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (img // patch) ** 2 + 1, dim))
        self.blocks = nn.ModuleList([Block(dim, num_heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x)  # (B, N, C)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed  # (B, 1 + N, C)
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x)[:, 0])  # (B, classes)


# ----------------------------------------------------------------------------------------------------------------
# LLaMA (Hugging Face names)

class LlamaRMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(x.dtype)


def rope_cos_sin(T, head_dim, theta=10000.0):
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)  # (hd/2)
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv_freq)  # (T, hd/2)
    emb = torch.cat([freqs, freqs], dim=-1)  # (T, hd)
    return emb.cos().float(), emb.sin().float()


def apply_rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)  # (B, nh, T, hd/2) each
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class LlamaAttention(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, dim // n_heads
        self.q_proj = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(n_heads * self.head_dim, dim, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.n_heads, self.head_dim).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, self.n_kv_heads, self.head_dim).transpose(1, 2)  # (B, nkv, T, hd)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        rep = self.n_heads // self.n_kv_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)  # (B, nh, T, hd)
            v = v.repeat_interleave(rep, dim=1)  # (B, nh, T, hd)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.head_dim))  # (B, nh, T, T)
        att = att.masked_fill(mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, -1)  # (B, T, C)
        return self.o_proj(y)


class LlamaMLP(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    def __init__(self, dim, hidden, n_heads, n_kv_heads, eps):
        super().__init__()
        self.self_attn = LlamaAttention(dim, n_heads, n_kv_heads)
        self.mlp = LlamaMLP(dim, hidden)
        self.input_layernorm = LlamaRMSNorm(dim, eps)
        self.post_attention_layernorm = LlamaRMSNorm(dim, eps)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    def __init__(self, dim, hidden, n_layers, n_heads, n_kv_heads, vocab, eps):
        super().__init__()
        self.head_dim = dim // n_heads
        self.embed_tokens = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(
            [LlamaDecoderLayer(dim, hidden, n_heads, n_kv_heads, eps) for _ in range(n_layers)])
        self.norm = LlamaRMSNorm(dim, eps)

    def forward(self, tokens):
        T = tokens.shape[1]
        x = self.embed_tokens(tokens)  # (B, T, C)
        cos, sin = rope_cos_sin(T, self.head_dim)  # (T, hd) each
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # (T, T), True above the diagonal
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    def __init__(self, dim=288, hidden=768, n_layers=6, n_heads=6, n_kv_heads=6, vocab=32000, eps=1e-5):
        super().__init__()
        self.model = LlamaModel(dim, hidden, n_layers, n_heads, n_kv_heads, vocab, eps)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, std=0.02)

    def forward(self, tokens):
        return self.lm_head(self.model(tokens))  # (B, T, V)


# ----------------------------------------------------------------------------------------------------------------
# Benchmark

VIT_BATCH, VIT_IMAGE, VIT_CLASSES = 32, 224, 1000
LLAMA_BATCH, LLAMA_SEQ, LLAMA_VOCAB = 8, 256, 32000


def make_bench(name, gen):
    if name == "vit_tiny":
        model = VisionTransformer()

        def make_batch():
            images = torch.randn(VIT_BATCH, 3, VIT_IMAGE, VIT_IMAGE, generator=gen)
            labels = torch.randint(0, VIT_CLASSES, (VIT_BATCH,), generator=gen)
            return images, labels

        def loss_fn(x, y):
            return F.cross_entropy(model(x), y)

        return model, make_batch, loss_fn, VIT_BATCH
    if name == "llama_small":
        model = LlamaForCausalLM()

        def make_batch():
            tokens = torch.randint(0, LLAMA_VOCAB, (LLAMA_BATCH, LLAMA_SEQ + 1), generator=gen)
            return tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()  # (B, T) each

        def loss_fn(x, y):
            logits = model(x)  # (B, T, V)
            return F.cross_entropy(logits.reshape(-1, LLAMA_VOCAB), y.reshape(-1))

        return model, make_batch, loss_fn, LLAMA_BATCH * LLAMA_SEQ
    raise SystemExit(f"unknown model {name!r}")


def train_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    return loss.item()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", choices=["vit_tiny", "llama_small"], required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed + 1)
    model, make_batch, loss_fn, items = make_bench(args.model, gen)
    model.train()
    # Weight decay on 2-D+ tensors only (biases and norm gains excluded), as Condense's AdamW does (timm rule).
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-4)

    losses, step_ms = [], []
    for i in range(args.warmup + args.steps):
        x, y = make_batch()
        t0 = time.perf_counter()
        loss = train_step(model, optimizer, loss_fn, x, y)
        dt = time.perf_counter() - t0
        losses.append(loss)
        if i >= args.warmup:
            step_ms.append(dt * 1000.0)

    print(json.dumps({
        "framework": "pytorch",
        "model": args.model,
        "torch": torch.__version__,
        "threads": args.threads,
        "items_per_step": items,
        "items_per_s": items * len(step_ms) / (sum(step_ms) / 1000.0),
        "step_ms": [round(t, 2) for t in step_ms],
        "loss_first": losses[0],
        "loss_last": losses[-1],
    }))


if __name__ == "__main__":
    main()
