# python3 workload: a few million small objects (ints, strs, tuples, dicts, lists), json round
# trips, sorting, regular expressions, a bytearray that grows by reallocation, and a gc cycle
# collection. Everything printed is a count or a hash, so the output is identical on any allocator.
import ctypes, gc, hashlib, json, multiprocessing, os, queue, re, sys, threading

def h(obj):
    return hashlib.sha256(repr(obj).encode()).hexdigest()[:16]

def probe():
    # Proof that this very interpreter runs on ptmem (the driver asserts yes/no per run).
    try:
        ctypes.CDLL(None).pt_pool_create
        sym = "yes"
    except AttributeError:
        sym = "no"
    with open("/proc/self/maps") as f:
        mapped = "yes" if "libptmem" in f.read() else "no"
    with open(os.environ["PTMEM_PROBE"], "a") as f:
        f.write(f"python3:ctypes.CDLL(None).pt_pool_create {sym}\n")
        f.write(f"python3:/proc/self/maps {mapped}\n")

probe()

# 1. a dict of 300k entries with string keys and tuple/list values, then deletion of half of it
d = {}
for i in range(300_000):
    d[f"key{i:07d}"] = (i, str(i * 7), [i] * (i % 5))
for i in range(0, 300_000, 2):
    del d[f"key{i:07d}"]
print("dict", len(d), h(sorted(d.items())[:1000]), sum(len(v[2]) for v in d.values()))

# 2. a list of 1M strings, sorted several ways
words = [format((i * 2654435761) % 1000003, "x") * (1 + i % 3) for i in range(600_000)]
words.sort()
print("sort", len(words), h(words[::10007]))
words.sort(key=lambda w: (len(w), w[::-1]))
print("sortkey", h(words[::10007]))
del words

# 3. json: dump and load a nested structure of ~100k nodes
tree = [{"id": i, "name": "n%d" % i, "tags": ["t%d" % (i % 13), "u%d" % (i % 7)],
         "child": {"v": i / 3.0, "w": None, "x": [True, False]}} for i in range(40_000)]
s = json.dumps(tree, sort_keys=True)
back = json.loads(s)
assert back == tree
print("json", len(s), hashlib.sha256(s.encode()).hexdigest()[:16])
del tree, back, s

# 4. regular expressions over a big text
text = "\n".join("line %d: alpha=%d beta=%s gamma" % (i, i * 3, "x" * (i % 17)) for i in range(150_000))
pat = re.compile(r"alpha=(\d+) beta=(x*)")
total = 0
lens = 0
for m in pat.finditer(text):
    total += int(m.group(1))
    lens += len(m.group(2))
print("re", total, lens, len(re.findall(r"\b\d+7:", text)), h(re.sub(r"\d", "#", text[:5000])))
del text

# 5. a growing bytearray and bytes joins (realloc paths, large blocks)
ba = bytearray()
for i in range(200_000):
    ba += i.to_bytes(4, "little") * (1 + i % 4)
print("bytes", len(ba), hashlib.sha256(ba).hexdigest()[:16])
big = [bytes(1 << (10 + i % 12)) for i in range(400)]
print("big", sum(map(len, big)))
del ba, big

# 6. reference cycles freed by the cyclic garbage collector
class Node:
    __slots__ = ("next", "payload", "__weakref__")
for r in range(3):
    nodes = [Node() for _ in range(100_000)]
    for i, n in enumerate(nodes):
        n.next = nodes[(i + 1) % len(nodes)]
        n.payload = {"i": i}
    del nodes, n
    gc.collect()
print("gc ok")

# 7. sets and frozensets of tuples
st = {(i % 1000, i % 777) for i in range(400_000)}
print("set", len(st), h(sorted(st)[::997]))

# 8. threads: producers build objects that consumers free, so blocks are freed by another thread
#    than the one that allocated them (the GIL serialises bytecode, not the malloc calls' threads).
q = queue.Queue(maxsize=64)
results = [0] * 4
def producer(seed):
    for i in range(300):
        q.put([str(seed * 100000 + i * 31 + j) * (1 + j % 5) for j in range(200)])
def consumer(slot):
    while True:
        item = q.get()
        if item is None:
            return
        results[slot] += sum(len(x) for x in item)
        del item
prods = [threading.Thread(target=producer, args=(s,)) for s in range(4)]
cons = [threading.Thread(target=consumer, args=(c,)) for c in range(4)]
for t in prods + cons:
    t.start()
for t in prods:
    t.join()
for _ in cons:
    q.put(None)
for t in cons:
    t.join()
print("threads", sum(results))

# 9. fork while other threads allocate (ptmem's fork handling: the child must find its heap usable
#    and unlocked) - a multiprocessing pool of forked workers, then many bare forks.
stop = False
def churn():
    while not stop:
        x = [bytes(100 + i % 5000) for i in range(2000)]
        del x
def work(n):
    d = {str(i): [i] * (i % 7) for i in range(n)}
    return sum(len(v) for v in d.values())
churners = [threading.Thread(target=churn) for _ in range(2)]
for t in churners:
    t.start()
with multiprocessing.get_context("fork").Pool(3) as pool:
    r = pool.map(work, [20000 + i for i in range(30)])
codes = []
for k in range(100):
    pid = os.fork()
    if pid == 0:
        os._exit(0 if sum(len(str(i)) for i in range(5000)) == 18890 else 1)
    codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
stop = True
for t in churners:
    t.join()
print("fork", sum(r), codes.count(0), len(codes))
sys.stdout.flush()
