#!/usr/bin/env python3
"""Resident memory of one process, broken down (used by memory.sh).

Usage: memory_breakdown.py PID METRICS_URL LABEL
Prints one JSON object: /proc/PID/status (VmRSS, RssAnon, RssFile, RssShmem, Threads), /proc/PID/smaps_rollup, the
resident memory of every mapping summed by what backs it (a file's base name, or [heap], [stack], [anon:NAME],
[anon] for unnamed anonymous memory), and the .NET GC's own figures from the server's /metrics (System.Runtime meter):
committed memory and heap sizes after the last collection. All sizes in KiB.
"""
import json, re, sys, urllib.request
from collections import defaultdict

pid, metrics_url, label = sys.argv[1], sys.argv[2], sys.argv[3]

def kib_fields(path, keys=None):
    out = {}
    for line in open(path):
        m = re.match(r'^(\w+):\s+(\d+)\s*kB', line)
        if m and (keys is None or m.group(1) in keys):
            out[m.group(1)] = int(m.group(2))
    return out

status = kib_fields(f'/proc/{pid}/status', {'VmRSS', 'RssAnon', 'RssFile', 'RssShmem', 'VmHWM'})
status['Threads'] = int(next(l for l in open(f'/proc/{pid}/status') if l.startswith('Threads:')).split()[1])
rollup = kib_fields(f'/proc/{pid}/smaps_rollup')

by_backing = defaultdict(int)
current = None
header = re.compile(r'^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$')
for line in open(f'/proc/{pid}/smaps'):
    m = header.match(line)
    if m:
        name = m.group(1).strip()
        if not name:
            current = '[anon]'
        elif name.startswith('['):
            current = name
        else:
            current = name.rsplit('/', 1)[-1].replace(' (deleted)', '')
        continue
    if line.startswith('Rss:') and current is not None:
        by_backing[current] += int(line.split()[1])

gc = {}
try:
    text = urllib.request.urlopen(metrics_url + '/metrics', timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith('dotnet_gc_last_collection_memory_committed_size'):
            gc['committed_kib'] = int(float(line.split()[-1]) / 1024)
        m = re.match(r'dotnet_gc_last_collection_heap_size\{.*gc_heap_generation="(\w+)".*\} (\S+)', line)
        if m:
            gc['heap_' + m.group(1) + '_kib'] = int(float(m.group(2)) / 1024)
        m = re.match(r'dotnet_gc_last_collection_heap_fragmentation_size\{.*gc_heap_generation="(\w+)".*\} (\S+)', line)
        if m:
            gc['fragmentation_' + m.group(1) + '_kib'] = int(float(m.group(2)) / 1024)
except Exception as e:  # the breakdown is still useful without the GC's figures
    gc['error'] = str(e)

top = dict(sorted(by_backing.items(), key=lambda kv: -kv[1])[:25])
print(json.dumps({'label': label, 'status_kib': status, 'smaps_rollup_kib': rollup, 'gc': gc, 'rss_by_backing_kib': top}))
