#!/usr/bin/env python3
"""Writes the KServe v2 binary-extension request body wrk sends: a JSON header then the raw tensor.
Usage: make-body.py OUT                       identity INPUT0 FP32 [1,16] (bench/cpu/run.sh)
       make-body.py OUT --image [--batch N]   image_sink pixels UINT8 [N,224,224,3] (bench/cpu/server-cpu.sh)"""
import argparse, json, struct
p = argparse.ArgumentParser()
p.add_argument("out", nargs="?", default="body.bin")
p.add_argument("--image", action="store_true")
p.add_argument("--batch", type=int, default=1)
a = p.parse_args()
if a.image:
    raw = bytes(i % 251 for i in range(a.batch * 224 * 224 * 3))
    inputs = [{"name": "pixels", "shape": [a.batch, 224, 224, 3], "datatype": "UINT8", "parameters": {"binary_data_size": len(raw)}}]
    outputs = [{"name": "logits", "parameters": {"binary_data": True}}]
else:
    raw = struct.pack("<16f", *[i * 0.5 for i in range(16)])
    inputs = [{"name": "INPUT0", "shape": [1, 16], "datatype": "FP32", "parameters": {"binary_data_size": len(raw)}}]
    outputs = [{"name": "OUTPUT0", "parameters": {"binary_data": True}}]
header = json.dumps({"inputs": inputs, "outputs": outputs}, separators=(",", ":")).encode()
open(a.out, "wb").write(header + raw)
open(a.out + ".len", "w").write(str(len(header)))
