"""Runs the layer benchmarks here and in PyTorch on the same machine with the same thread count, and
prints one table: ours, PyTorch, the ratio, GFLOP/s and % of the machine's measured fp32 peak.

PyTorch gets its best settings: OMP_WAIT_POLICY=PASSIVE (set before torch loads; it doubles torch's
speed on the large case here), and the faster of torch.set_num_threads(THREADS) and of one thread, per
case (it defaults to 1 here; at the seed's tiny shapes waking a second thread costs torch more than it
saves, just as our own kernels stay on one thread there).
Two PyTorch versions of each layer are timed: the course library's modules (tests/torch_ref/course.py,
the same computation as ours) and, where one exists, PyTorch's native layer (nn.MultiheadAttention,
nn.TransformerEncoderLayer). Two ratios: against the course module (the notebook's computation) and
against the faster of the two. Each side's time is its best over --rounds processes of
--repetitions runs each (see below).

Usage: bench/compare.py BUILD_DIR [--threads N] [--rounds 3] [--repetitions 3] [--min-time 0.5]"""
import argparse
import json
import os
import subprocess
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("build")
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--min-time", type=float, default=0.5)
ap.add_argument("--repetitions", type=int, default=3)
ap.add_argument("--rounds", type=int, default=3)
ap.add_argument("--torch-child", action="store_true", help=argparse.SUPPRESS)
ap.add_argument("--torch-threads", type=int, default=0, help=argparse.SUPPRESS)
args = ap.parse_args()

# This machine is shared, and its two vCPUs differ (single-threaded code runs ~1.5x slower on one):
# a run can be slowed by a neighbour or by where the scheduler put it, never sped up. So each side
# runs in --rounds separate processes, alternating, each timing every case --repetitions times, and
# each side keeps its best time per case.
env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))

if args.torch_child:
    import torch  # noqa: E402  (OMP_WAIT_POLICY and OPENBLAS_CORETYPE set by the parent)

    torch.set_num_threads(args.torch_threads or args.threads)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "torch_ref"))
    import course  # noqa: E402

CASES = {"seed": dict(B=2, T=10, D=64, H=8, F=256, causal=False, norm_first=False, act="relu"),
         "large": dict(B=8, T=256, D=384, H=6, F=1536, causal=True, norm_first=True, act="gelu")}


def timeit(fn, min_time):
    """The best of `repetitions` timings, each the mean over at least min_time seconds."""
    fn()
    best = float("inf")
    for _ in range(args.repetitions):
        n, start = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - start
            if el >= min_time and n >= 3:
                break
        best = min(best, el / n)
    return best


def torch_cases(c):
    torch.manual_seed(0)
    x = torch.randn(c["B"], c["T"], c["D"])
    dy = torch.randn_like(x)
    mask = torch.tril(torch.ones(c["T"], c["T"], dtype=torch.bool)) if c["causal"] else None
    out = {}
    mha = course.MultiHeadAttention(c["D"], c["H"], causal=c["causal"]).eval()
    native_mha = torch.nn.MultiheadAttention(c["D"], c["H"], batch_first=True).eval()
    blk = course.TransformerBlock(c["D"], c["H"], c["F"], norm_first=c["norm_first"], causal=c["causal"],
                                  activation=c["act"])
    native = torch.nn.TransformerEncoderLayer(c["D"], c["H"], c["F"], dropout=0.0, activation=c["act"],
                                              batch_first=True, norm_first=c["norm_first"])
    native_mask = ~mask if mask is not None else None  # nn.* masks: True = blocked
    with torch.no_grad():
        out["MHAForward"] = [timeit(lambda: mha(x, x, x), args.min_time),
                             timeit(lambda: native_mha(x, x, x, need_weights=False, attn_mask=native_mask),
                                    args.min_time)]
        blk.eval()
        native.eval()
        out["BlockForward"] = [timeit(lambda: blk(x), args.min_time),
                               timeit(lambda: native(x, src_mask=native_mask), args.min_time)]
    blk.train()
    native.train()
    xg = x.clone().requires_grad_(True)

    def fb(m, **kw):
        m.zero_grad(set_to_none=True)
        xg.grad = None
        m(xg, **kw).backward(dy)
    out["BlockForwardBackward"] = [timeit(lambda: fb(blk), args.min_time),
                                   timeit(lambda: fb(native, src_mask=native_mask), args.min_time)]
    return out



if args.torch_child:
    print(json.dumps({tag: torch_cases(c) for tag, c in CASES.items()}))
    sys.exit(0)

ours, torch_best = {}, {}
for _ in range(args.rounds):
    report = json.loads(subprocess.run(
        [os.path.join(args.build, "bench", "bench_layers"), "--benchmark_format=json",
         f"--benchmark_min_time={args.min_time}", f"--benchmark_repetitions={args.repetitions}"],
        env=env, capture_output=True, text=True, check=True).stdout)
    for b in report["benchmarks"]:
        if b.get("run_type") == "iteration":
            name = b.get("run_name", b["name"])
            if name not in ours or b["real_time"] < ours[name]["real_time"]:
                ours[name] = b
    gemm_isa = report["context"].get("gemm_isa", "")
    torch_env = dict(env, OMP_WAIT_POLICY="PASSIVE")
    for torch_threads in sorted({args.threads, 1}, reverse=True):
        child = subprocess.run([sys.executable, os.path.abspath(__file__), args.build, "--torch-child",
                                f"--threads={args.threads}", f"--torch-threads={torch_threads}",
                                f"--min-time={args.min_time}", f"--repetitions={args.repetitions}"],
                               env=torch_env, capture_output=True, text=True, check=True).stdout
        for tag, cases in json.loads(child).items():
            for name, times in cases.items():
                prev = torch_best.setdefault(tag, {}).get(name)
                cur = [(t, torch_threads) for t in times]
                torch_best[tag][name] = cur if prev is None else [min(a, b) for a, b in zip(prev, cur)]

sgemm = ours["BM_PeakSGEMM"]["flops"] / (ours["BM_PeakSGEMM"]["real_time"] * 1e-3)
# % of peak: the machine's measured fp32 FMA peak (bench_peak: 256- and 512-bit registers, the larger)
fma = json.loads(subprocess.run([os.path.join(args.build, "bench", "bench_peak"), "--json"], env=env, check=True,
                                capture_output=True, text=True).stdout)
peak = max(fma["fma256"], fma["fma512"]) * 1e9
torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                               text=True).stdout.strip()
print(f"threads: {args.threads}; our products: oneDNN {gemm_isa}; PyTorch {torch_version}; fp32 FMA peak"
      f" {peak / 1e9:.0f} GFLOP/s; our SGEMM 2048^3 {sgemm / 1e9:.0f} GFLOP/s; best of {args.rounds} processes x {args.repetitions} runs per side;"
      f" torch at the faster of {args.threads} threads and 1 (in brackets)")
print(f"{'case':<30}{'ours':>11}{'torch course':>18}{'torch native':>18}{'vs course':>10}{'vs faster':>10}"
      f"{'GFLOP/s':>9}{'% peak':>8}")
for tag in CASES:
    for name, ((course_s, course_t), (native_s, native_t)) in torch_best[tag].items():
        b = ours[f"BM_{name}/{tag}"]
        unit = {"us": 1e-6, "ms": 1e-3, "ns": 1e-9}[b["time_unit"]]
        ours_s = b["real_time"] * unit
        best = min(course_s, native_s)
        gflops = b["flops"] / ours_s / 1e9
        fmt = lambda s: f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"  # noqa: E731
        print(f"{name + ' ' + tag:<30}{fmt(ours_s):>11}{fmt(course_s) + f' [{course_t}]':>18}"
              f"{fmt(native_s) + f' [{native_t}]':>18}"
              f"{course_s / ours_s:>9.1f}x{best / ours_s:>9.1f}x{gflops:>9.1f}{100 * gflops * 1e9 / peak:>7.0f}%")
