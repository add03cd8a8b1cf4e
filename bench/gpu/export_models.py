"""Writes torchvision's ResNet-50 (weights=None) as ONNX with torch.onnx.export(dynamo=False): a model a real exporter
wrote. BatchNorm statistics are first taken from a few random batches so activations stay in FP16 range. Files:
tv_fp32.onnx (FP32) and tv_fp16.onnx (FP16 weights and compute, FP32 input/output: a Cast at each edge; a stand-in
for the model tools' `convert --fp16`). Usage: export_models.py OUT_DIR"""
import copy, os, sys, time
import torch, torchvision

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
t0 = time.time()
m = torchvision.models.resnet50(weights=None).cuda()
m.train()
with torch.no_grad():
    for _ in range(4):
        m(torch.randn(16, 3, 224, 224, device="cuda"))
m.eval()


class HalfInside(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner.half()

    def forward(self, x):
        return self.inner(x.half()).float()


x = torch.randn(1, 3, 224, 224, device="cuda")
axes = {"input": {0: "batch"}, "logits": {0: "batch"}}
for name, model in (("tv_fp32", m), ("tv_fp16", HalfInside(copy.deepcopy(m)))):
    torch.onnx.export(model, x, f"{out}/{name}.onnx", input_names=["input"], output_names=["logits"],
                      dynamic_axes=axes, opset_version=17, dynamo=False)
    print(f"wrote {out}/{name}.onnx ({os.path.getsize(f'{out}/{name}.onnx') / 1e6:.0f} MB)", flush=True)
print(f"export took {time.time() - t0:.0f} s", flush=True)
