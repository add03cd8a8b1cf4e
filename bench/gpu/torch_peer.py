"""The peer in the same run: PyTorch ResNet-50 FP16 channels_last, eager and torch.compile (default mode), images/s
timed with CUDA events over fresh random inputs. Prints CSV rows label,batch,instances,images_per_s,p50_ms,p99_ms."""
import sys, time
import torch, torchvision

torch.backends.cudnn.benchmark = True
m = torchvision.models.resnet50(weights=None).cuda().eval().half().to(memory_format=torch.channels_last)
batches = [int(b) for b in (sys.argv[1] if len(sys.argv) > 1 else "1,256").split(",")]


def bench(fn, batch, seconds=3.0):
    xs = [torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.half).to(memory_format=torch.channels_last) for _ in range(4)]
    with torch.inference_mode():
        for i in range(10):
            fn(xs[i % 4])
        torch.cuda.synchronize()
        times = []
        end = time.time() + seconds
        i = 0
        while time.time() < end:
            s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            s.record()
            fn(xs[i % 4])
            e.record()
            e.synchronize()
            times.append(s.elapsed_time(e))
            i += 1
    times.sort()
    total = sum(times) / 1000
    return batch * len(times) / total, times[len(times) // 2], times[min(len(times) - 1, int(0.99 * len(times)))]


for label, fn in (("torch_eager_fp16_cl", m), ("torch_compile_fp16_cl", torch.compile(m))):
    for b in batches:
        t0 = time.time()
        ips, p50, p99 = bench(fn, b)
        print(f"{label},{b},1,{ips:.0f},{p50:.3f},{p99:.3f}", flush=True)
        print(f"# {label} batch {b}: {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
