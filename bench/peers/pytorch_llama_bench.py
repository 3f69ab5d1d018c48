#!/usr/bin/env python3
"""PyTorch peer of `Condense.Bench lm`: LLaMA forward and KV-cache generation throughput on the same weights.

Loads a Hugging Face LLaMA directory (config.json + model.safetensors, read here with a tiny safetensors reader and
numpy), then measures (1) no-grad forward tokens/s on a deterministic (batch, seq) token grid and (2) greedy
generation tokens/s with a preallocated KV cache from BOS, both with --threads intra-op threads. Prints one JSON
line. The model code mirrors Hugging Face's LlamaForCausalLM (rotate-half RoPE, GQA by repeating kv heads, SwiGLU,
RMSNorm in fp32); torch 1.13 has no scaled_dot_product_attention, so attention is written out.
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "I64": np.int64}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        arr = np.frombuffer(data, dtype=DTYPES[info["dtype"]], count=(end - begin) // np.dtype(DTYPES[info["dtype"]]).itemsize,
                            offset=8 + n + begin).reshape(info["shape"])
        if info["dtype"] == "BF16":  # bf16 is the top half of an fp32
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = torch.from_numpy(arr.astype(np.float32))
    return out


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.nh, self.nkv = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
        self.hd = c["hidden_size"] // self.nh
        self.q_proj = nn.Linear(c["hidden_size"], self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(c["hidden_size"], self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(c["hidden_size"], self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, c["hidden_size"], bias=False)

    def forward(self, x, cos, sin, cache, start):
        B, T, _ = x.shape
        q = self.q_proj(x).view(B, T, self.nh, self.hd).transpose(1, 2)  # (B, nh, T, hd)
        k = self.k_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, nkv, T, hd)
        v = self.v_proj(x).view(B, T, self.nkv, self.hd).transpose(1, 2)  # (B, nkv, T, hd)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        if cache is not None:
            cache[0][:, :, start:start + T] = k
            cache[1][:, :, start:start + T] = v
            k, v = cache[0][:, :, :start + T], cache[1][:, :, :start + T]  # (B, nkv, S, hd)
        rep = self.nh // self.nkv
        if rep > 1:
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)  # (B, nh, S, hd)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(self.hd))  # (B, nh, T, S)
        if T > 1:
            S = k.shape[2]
            mask = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1)  # query i sits at position S - T + i
            att = att.masked_fill(mask, float("-inf"))
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).reshape(B, T, -1)  # (B, T, C)
        return self.o_proj(y)


def rope(x, cos, sin):
    x1, x2 = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-x2, x1], dim=-1) * sin


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["hidden_size"], c["intermediate_size"], bias=False)
        self.up_proj = nn.Linear(c["hidden_size"], c["intermediate_size"], bias=False)
        self.down_proj = nn.Linear(c["intermediate_size"], c["hidden_size"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn, self.mlp = Attention(c), MLP(c)
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, x, cos, sin, cache, start):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache, start)
        return x + self.mlp(self.post_attention_layernorm(x))


class Body(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c, self.model = c, Body(c)
        self.tied = c.get("tie_word_embeddings", False)
        if not self.tied:
            self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        hd = c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / 10000.0 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd)
        freqs = torch.outer(torch.arange(c["max_position_embeddings"], dtype=torch.float64), inv)
        emb = torch.cat([freqs, freqs], dim=-1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()  # (S, hd), made once like Condense's table

    def forward(self, tokens, caches=None, start=0):
        T = tokens.shape[1]
        x = self.model.embed_tokens(tokens)  # (B, T, C)
        cos, sin = self.cos[start:start + T], self.sin[start:start + T]
        for i, layer in enumerate(self.model.layers):
            x = layer(x, cos, sin, None if caches is None else caches[i], start)
        h = self.model.norm(x)
        return F.linear(h, self.model.embed_tokens.weight) if self.tied else self.lm_head(h)  # (B, T, V)

    def new_cache(self, batch, capacity):
        c = self.c
        nkv = c.get("num_key_value_heads", c["num_attention_heads"])
        hd = c["hidden_size"] // c["num_attention_heads"]
        return [(torch.zeros(batch, nkv, capacity, hd), torch.zeros(batch, nkv, capacity, hd))
                for _ in range(c["num_hidden_layers"])]


def grid_tokens(batch, seq, vocab):
    """The deterministic token grid both frameworks score: (1 + 7919 b + 104729 t) mod V."""
    b = torch.arange(batch).view(-1, 1)
    t = torch.arange(seq).view(1, -1)
    return (1 + 7919 * b + 104729 * t) % vocab  # (B, T) int64


def generate(model, n):
    """Greedy tokens from BOS with a KV cache (n forwards), and the seconds of the n - 1 steps after the first."""
    caches = model.new_cache(1, n)
    out = [1]
    t0 = None
    for pos in range(n):
        if pos == 1:
            t0 = time.perf_counter()
        logits = model(torch.tensor([[out[-1]]]), caches, pos)
        out.append(int(logits[0, -1].argmax()))
    return out, time.perf_counter() - t0


def serve_rounds(model, tokens_path):
    """`condense bench decode`'s peer: on each "round" line from stdin, forward the prompt in one batch into a fresh KV
    cache, then the teacher-forced tokens one at a time (argmax after each), and print one JSON line with the seconds
    of each phase and the chosen tokens; "quit" ends. The model stays loaded between rounds, as the in-process engines."""
    import sys
    with open(tokens_path) as f:
        spec = json.load(f)
    prompt, forced = spec["prompt"], spec["forced"]
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        with torch.no_grad():
            caches = model.new_cache(1, len(prompt) + len(forced))
            t0 = time.perf_counter()
            logits = model(torch.tensor([prompt]), caches, 0)
            chosen = [int(logits[0, -1].argmax())]
            t1 = time.perf_counter()
            for i, token in enumerate(forced):
                logits = model(torch.tensor([[token]]), caches, len(prompt) + i)
                chosen.append(int(logits[0, -1].argmax()))
            t2 = time.perf_counter()
        print(json.dumps({"prefill_s": t1 - t0, "decode_s": t2 - t1, "chosen": chosen}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--serve-rounds", help="JSON file with prompt and forced tokens: run decode rounds on request (bench decode)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--gen-tokens", type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with open(f"{args.model_dir}/config.json") as f:
        config = json.load(f)
    model = Llama(config).eval()
    state = load_safetensors(f"{args.model_dir}/model.safetensors")
    if model.tied:
        state.pop("lm_head.weight", None)
    model.load_state_dict(state, strict=True)
    if args.serve_rounds:
        serve_rounds(model, args.serve_rounds)
        return

    with torch.no_grad():
        tokens = grid_tokens(args.batch, args.seq, config["vocab_size"])
        step_ms = []
        for i in range(args.warmup + args.steps):
            t0 = time.perf_counter()
            logits = model(tokens)
            if i >= args.warmup:
                step_ms.append((time.perf_counter() - t0) * 1000)
        nll = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1)).item()

        n = args.gen_tokens
        generate(model, min(8, n))  # untimed warmup, as on the Condense side
        generated, decode_s = generate(model, n)

    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "forward_tokens_per_s": args.batch * args.seq * args.steps / (sum(step_ms) / 1000),
        "forward_ms": [round(m, 2) for m in step_ms],
        "forward_nll": nll,
        "decode_tokens_per_s": (n - 1) / decode_s,
        "generated": generated,
    }))


if __name__ == "__main__":
    main()
