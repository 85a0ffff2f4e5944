#!/usr/bin/env python3
"""PyTorch reference for tools/bench/bench.mjs: the same nets and step as the tfjs benchmark.

Prints one JSON object: ms/step (median) of a LeNet-300-100 Adam step at batch 60 on 1 thread,
a Conv-2 Adam step at batch 60 on 2 threads, GEMM GFLOP/s, and the torch version. Run by bench.mjs when `import torch` works.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

QUICK = "--quick" in sys.argv
BUDGET = 1.0 if QUICK else 4.0


def timed(f, warmup=5, budget=BUDGET, max_calls=2000, min_calls=3):
    for _ in range(warmup):
        f()
    samples = []
    start = time.perf_counter()
    while len(samples) < min_calls or (time.perf_counter() - start < budget and len(samples) < max_calls):
        t0 = time.perf_counter()
        f()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    return samples[len(samples) // 2], samples[0]  # median, best


def lenet_step_ms(keep):
    torch.manual_seed(0)
    sizes = [784, 300, 100, 10]
    params, masks = [], []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        w = (torch.rand(fan_in, fan_out) * 2 - 1) * (6 / (fan_in + fan_out)) ** 0.5
        k = keep[len(masks) // 2] if isinstance(keep, list) else keep  # one fraction per layer, or one for all
        mask = (torch.rand(fan_in, fan_out) < k).float() if k < 1 else None
        if mask is not None:
            w *= mask
        params += [w.requires_grad_(), torch.zeros(fan_out, requires_grad=True)]
        masks += [mask, None]
    opt = torch.optim.Adam(params, lr=0.0012)
    x = torch.rand(60, 784)
    y = torch.arange(60) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        h = x
        for i in range(0, len(params), 2):
            h = h @ params[i] + params[i + 1]
            if i + 2 < len(params):
                h = F.relu(h)
        loss = F.cross_entropy(h, y)
        loss.backward()
        with torch.no_grad():
            for p, m in zip(params, masks):
                if m is not None:
                    p.grad.mul_(m)
        opt.step()
        with torch.no_grad():
            for p, m in zip(params, masks):
                if m is not None:
                    p.mul_(m)
        return loss.item()

    return timed(step)


def conv2_step_ms():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(64, 64, 3, padding=1), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(16 * 16 * 64, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 256), torch.nn.ReLU(),
        torch.nn.Linear(256, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=2e-4)
    x = torch.rand(60, 3, 32, 32)
    y = torch.arange(60) % 10

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    return timed(step, warmup=2, budget=2.0 if QUICK else 8.0, max_calls=100)


def gemm_gflops(m, k, n):
    a, b = torch.rand(m, k), torch.rand(k, n)
    _, ms = timed(lambda: a @ b, max_calls=200)
    return 2 * m * n * k / (ms * 1e6)


# bench.mjs runs this twice: `--no-conv` with OPENBLAS_NUM_THREADS=1 (LeNet and 1-thread GEMM;
# torch.set_num_threads does not limit Debian's OpenBLAS) and `--conv-only` with
# OPENBLAS_NUM_THREADS=2, both with glibc's malloc thresholds raised (see bench.mjs).
CONV_ONLY = "--conv-only" in sys.argv
out = {"version": torch.__version__, "threads": 1}
if not CONV_ONLY:
    torch.set_num_threads(1)
    dense, dense_best = lenet_step_ms(1.0)
    masked, masked_best = lenet_step_ms(0.2)
    out["lenet300100"] = {"denseMsPerStep": round(dense, 3), "denseBestMsPerStep": round(dense_best, 3),
                          "maskedMsPerStep": round(masked, 3), "maskedBestMsPerStep": round(masked_best, 3)}
    # bench.mjs' sparse levels (IMP levels 7, 12, 15 at 20 %/10 % per level): PyTorch's masked
    # step there, to compare with lth's sparse step at the same sparsity.
    levels = {}
    for label, level in (("21%", 7), ("7%", 12), ("3.6%", 15)):
        median, best = lenet_step_ms([0.8 ** level, 0.8 ** level, 0.9 ** level])
        levels[label] = {"maskedMsPerStep": round(median, 3), "maskedBestMsPerStep": round(best, 3)}
    out["lenet300100"]["levels"] = levels
    out["gemm"] = {"60x784x300": round(gemm_gflops(60, 784, 300), 1), "1024^3 1 thread": round(gemm_gflops(1024, 1024, 1024), 1)}
else:
    torch.set_num_threads(2)
    out["gemm"] = {"1024^3 2 threads": round(gemm_gflops(1024, 1024, 1024), 1)}
if CONV_ONLY:
    median, best = conv2_step_ms()
    out["conv2"] = {"msPerStep": round(median, 1), "bestMsPerStep": round(best, 1), "threads": 2}
print(json.dumps(out))
