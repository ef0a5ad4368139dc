#!/usr/bin/env python3
"""praktika's own feed update, timed on a feed file, for services/feed-projector/examples/praktika_compare.rs.

Loads praktika/event.py from a checkout of ClickHouse/praktika (--praktika DIR; never vendored
here), pins time.time() to --now so its 30-day retention sees the corpus as recent, and times
each step of EventFeed.update minus S3: gzip.decompress, json.loads, EventFeed.from_dict,
EventFeed.add, to_dict, json.dumps, gzip.compress (level 9). Prints one JSON object (medians, ms).
"""
import argparse, gzip, importlib.util, json, statistics, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--praktika", required=True)
ap.add_argument("--dir", required=True)
ap.add_argument("--now", type=int, required=True)
ap.add_argument("--runs", type=int, default=21)
a = ap.parse_args()

spec = importlib.util.spec_from_file_location("praktika_event", f"{a.praktika}/praktika/event.py")
event = importlib.util.module_from_spec(spec)
spec.loader.exec_module(event)
time.time = lambda: float(a.now)

feed = json.load(open(f"{a.dir}/feed.json"))
incoming = json.load(open(f"{a.dir}/incoming.json"))
stored = gzip.compress(json.dumps(feed).encode())

steps = {k: [] for k in ["gunzip", "loads", "from_dict", "add", "to_dict", "dumps", "gzip", "total"]}
for _ in range(a.runs):
    t0 = time.perf_counter(); text = gzip.decompress(stored)
    t1 = time.perf_counter(); data = json.loads(text)
    t2 = time.perf_counter(); f = event.EventFeed.from_dict(data)
    t3 = time.perf_counter(); f.add(event.Event(**json.loads(json.dumps(incoming))))
    t4 = time.perf_counter(); d = f.to_dict()
    t5 = time.perf_counter(); out = json.dumps(d)
    t6 = time.perf_counter(); obj = gzip.compress(out.encode())
    t7 = time.perf_counter()
    for k, (x, y) in zip(steps, [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6), (t6, t7), (t0, t7)]):
        steps[k].append((y - x) * 1e3)

report = {f"{k}_ms": round(statistics.median(v), 3) for k, v in steps.items()}
report["object_bytes"] = len(obj)
report["events_after"] = len(f.events)
json.dump(report, sys.stdout)
