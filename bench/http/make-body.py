#!/usr/bin/env python3
"""Writes the KServe v2 binary-extension request body wrk sends: a JSON header then 16 FP32 values."""
import json, struct, sys
out = sys.argv[1] if len(sys.argv) > 1 else "body.bin"
raw = struct.pack("<16f", *[i * 0.5 for i in range(16)])
header = json.dumps({"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "FP32",
                                 "parameters": {"binary_data_size": len(raw)}}],
                     "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": True}}]},
                    separators=(",", ":")).encode()
open(out, "wb").write(header + raw)
open(out + ".len", "w").write(str(len(header)))
