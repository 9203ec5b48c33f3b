#!/usr/bin/env python3
"""Write the seed corpora under fuzz/corpus/<target>/ (small files, built from the committed
test fixtures or by hand). Run from the repository root: `python3 fuzz/make_seeds.py`."""

import json
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
MODELS = os.path.join(ROOT, "crates", "nlp-models", "tests", "fixtures")


def seed(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def fixture(*parts):
    with open(os.path.join(ROOT, *parts), "rb") as f:
        return f.read()


def split2(first, rest):
    """The two-part input of the tf_checkpoint and ske_json targets."""
    return struct.pack("<H", len(first)) + first + rest


# --- safetensors ---------------------------------------------------------------------------

def safetensors(tensors, metadata=None, header_len=None):
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h) if header_len is None else header_len) + h + data


ST = [
    ("w", "F32", [2, 3], struct.pack("<6f", 1, 2, 3, 4, 5, 6)),
    ("h", "F16", [3], bytes.fromhex("003c00400042")),
    ("b", "BF16", [2], bytes.fromhex("803f0040")),
    ("d", "F64", [1], struct.pack("<d", 0.5)),
    ("ids", "I64", [2], struct.pack("<2q", 7, -1)),
    ("pos", "I32", [1, 2], struct.pack("<2i", 0, 1)),
    ("mask", "BOOL", [2], b"\x01\x00"),
]
seed("safetensors", "all_dtypes", safetensors(ST, {"format": "pt"}))
seed("safetensors", "one_f32", safetensors(ST[:1]))
seed("safetensors", "header_claims_100gb", safetensors(ST[:1], header_len=100 << 30))
seed("safetensors", "truncated", safetensors(ST[:2])[:-3])
seed("safetensors", "empty_header", struct.pack("<Q", 2) + b"{}")
seed("safetensors", "huge_shape", safetensors([("w", "F32", [1 << 40, 1 << 30], b"\0" * 8)]))

# --- pytorch -------------------------------------------------------------------------------

seed("pytorch", "dtypes_zip", fixture(MODELS, "pytorch_dtypes.bin"))
seed("pytorch", "dtypes_legacy", fixture(MODELS, "pytorch_dtypes_legacy.bin"))

# --- tf_checkpoint -------------------------------------------------------------------------

def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def mask(crc):
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n):
    out = b""
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out += bytes([byte | 0x80])
        else:
            return out + bytes([byte])


def field_varint(num, value):
    return varint(num << 3) + varint(value)


def field_bytes(num, value):
    return varint(num << 3 | 2) + varint(len(value)) + value


def block(entries, snappy=False):
    """A table block with a restart at every entry, its trailer appended."""
    body, restarts = b"", []
    for key, value in entries:
        restarts.append(len(body))
        body += varint(0) + varint(len(key)) + varint(len(value)) + key + value
    body += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    kind = 0
    if snappy:  # one literal run: a valid snappy stream without compression
        assert len(body) <= 60
        body = varint(len(body)) + bytes([(len(body) - 1) << 2]) + body
        kind = 1
    contents = body
    return contents, contents + bytes([kind]) + struct.pack("<I", mask(crc32c(contents + bytes([kind]))))


def sstable(entries, snappy=False):
    data_contents, data = block(entries, snappy)
    meta_contents, meta = block([])
    index_contents, index = block([(entries[-1][0], varint(0) + varint(len(data_contents)))])
    meta_off = len(data)
    index_off = meta_off + len(meta)
    footer = varint(meta_off) + varint(len(meta_contents)) + varint(index_off) + varint(len(index_contents))
    footer = footer.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    return data + meta + index + footer


def bundle_entry(dtype, shape, offset, raw, crc=True):
    dims = b"".join(field_bytes(2, field_varint(1, d)) for d in shape)
    out = field_varint(1, dtype) + field_bytes(2, dims) + field_varint(4, offset) + field_varint(5, len(raw))
    if crc:
        out += varint(6 << 3 | 5) + struct.pack("<I", mask(crc32c(raw)))
    return out


kernel = struct.pack("<4f", 1, -2, 3.5, 0)
half = bytes.fromhex("003c0040")
shard = kernel + half
header = field_varint(1, 1)
entries = [
    (b"", header),
    (b"bert/kernel", bundle_entry(1, [2, 2], 0, kernel)),
    (b"bert/scale", bundle_entry(19, [2], len(kernel), half, crc=False)),
]
seed("tf_checkpoint", "two_tensors", split2(sstable(entries), shard))
seed("tf_checkpoint", "snappy_header_only", split2(sstable(entries[:1], snappy=True), b""))
seed("tf_checkpoint", "fixture_index_no_shard",
     split2(fixture(MODELS, "random_mlm_tf", "bert_model.ckpt.index"), b""))

# --- bert_config ---------------------------------------------------------------------------

seed("bert_config", "hf_config", fixture(MODELS, "random_mlm", "config.json"))
seed("bert_config", "google_config", fixture(MODELS, "random_mlm_tf", "bert_config.json"))

# --- vocab / tokenizer_json ----------------------------------------------------------------

seed("vocab", "fixture_vocab", fixture(MODELS, "random_mlm", "vocab.txt"))
seed("vocab", "tiny", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n北\n##京\nhello\n##ing\r\n")
seed("tokenizer_json", "tokenizer_zh", fixture(MODELS, "tokenizer_zh.json"))

# --- train_checkpoint ----------------------------------------------------------------------

state = json.dumps({
    "epoch": 1, "batch_in_epoch": 2, "global_step": 3, "best_score": 0.5, "best_epoch": 0,
    "epoch_losses": [1.0], "epoch_scores": [0.5], "step_losses": [1.0, 0.9],
    "running_loss": 0.1, "train_seconds": 2.0,
}).encode()


def checkpoint(parts, lens=None):
    out = b"B4BCKPT1"
    for i, part in enumerate(parts):
        out += struct.pack("<Q", len(part) if lens is None else lens[i]) + part
    return out


seed("train_checkpoint", "valid", checkpoint([state, b"model bytes", b"optimizer"]))
seed("train_checkpoint", "huge_length", checkpoint([state, b"m", b"o"], [len(state), 1 << 62, 1]))

# --- peoples_daily -------------------------------------------------------------------------

pd = fixture("crates", "nlp-tasks", "tests", "fixtures", "199801_head200.txt").split(b"\n")
seed("peoples_daily", "head12", b"\n".join(pd[:12]) + b"\n")
seed("peoples_daily", "crlf_and_bad", "江/nr  泽民/nr  北京/ns\r\n\r\n中共中央/nt 无标签\n")
seed("peoples_daily", "brackets", "[中国/ns 人民/n 银行/n]nt  决定/v  江/nr  泽民/nr\n".encode() + b"\xff/w\n")

# --- ske_json ------------------------------------------------------------------------------

schema = "\n".join(json.dumps(e, ensure_ascii=False) for e in [
    {"predicate": "出生地", "subject_type": "人物", "object_type": "地点"},
    {"predicate": "毕业院校", "subject_type": "人物", "object_type": "学校"},
]).encode()
samples = "\n".join(json.dumps(s, ensure_ascii=False) for s in [
    {"text": "张三出生于北京，毕业于北京大学。", "spo_list": [
        {"subject": "张三", "predicate": "出生地", "object": "北京"},
        {"subject": "张三", "predicate": "毕业院校", "object": "北京大学"}]},
    {"text": "没有三元组的句子"},
]).encode()
seed("ske_json", "schema_and_samples", split2(schema, samples + b"\n"))
seed("ske_json", "bad_line", split2(schema, b'{"text": "x", "spo_list": [{"subject": 1}]}\n\xff\n'))

# --- corpus --------------------------------------------------------------------------------

text = fixture("crates", "nlp-text", "tests", "fixtures", "wordfreq_input.txt")
seed("corpus", "wordfreq_head", b"\x05" + text[:3000])
seed("corpus_count", "wordfreq_head", b"\x45" + text[:1500])
seed("corpus_count", "invalid_utf8", b"\x01" + "北京大学北京大学\r\n".encode() + b"\xff\n")
seed("corpus", "invalid_utf8", b"\x41" + "北京\r\n".encode() + b"\xff\xfe bad\n" + "大学\n".encode()[:4] + b"\n\n")

# --- reproducers of the bugs found (fuzz/regressions/<target>/) ------------------------------
# Each failed before its fix (a panic or an oversized allocation); each must now be an error.
# `cargo xtask fuzz` replays them, and the crates' tests read them too.

REGRESSIONS = os.path.join(ROOT, "fuzz", "regressions")


def regression(target, name, data):
    d = os.path.join(REGRESSIONS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def st_raw(header):
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h


# data_start + offset overflowed u64 (a panic with overflow checks).
regression("safetensors", "offset_overflow", st_raw(
    {"w": {"dtype": "F32", "shape": [1], "data_offsets": [2**64 - 1, 2**64 - 1]}}))
# The element count of the shape overflowed usize.
regression("safetensors", "shape_overflow", st_raw(
    {"w": {"dtype": "F32", "shape": [2**62, 8], "data_offsets": [0, 0]},
     "i": {"dtype": "I64", "shape": [2**62, 8], "data_offsets": [0, 0]}}))


def raw_block(body, kind):
    return body + bytes([kind]) + struct.pack("<I", mask(crc32c(body + bytes([kind]))))


def table_with_index_block(index_body, kind=0, lead=b""):
    """`lead` bytes (data blocks), then the index block, then the footer pointing at it."""
    index_off = len(lead)
    footer = varint(0) + varint(0) + varint(index_off) + varint(len(index_body))
    footer = footer.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    return lead + raw_block(index_body, kind) + footer


# The "runs past the end of the file" message computed offset + size + 5 and overflowed.
footer = varint(2**64 - 1) + varint(2**64 - 1) + varint(2**64 - 1) + varint(2**64 - 1)
regression("tf_checkpoint", "block_handle_overflow",
           split2(footer.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57), b""))

# A 5-byte snappy block claiming 4 GiB: snap allocated the claimed length before decoding.
regression("tf_checkpoint", "snappy_claims_4gib",
           split2(table_with_index_block(varint(2**32 - 1) + b"\0", kind=1), b""))

# A tensor whose shape's element count overflows usize.
dims = b"".join(field_bytes(2, field_varint(1, d)) for d in [2**40, 2**40])
huge = field_varint(1, 1) + field_bytes(2, dims) + field_varint(4, 0) + field_varint(5, 0)
regression("tf_checkpoint", "shape_overflow", split2(sstable([(b"", header), (b"t", huge)]), b""))


def snappy_literal(data):
    n = len(data) - 1
    if n < 60:
        return bytes([n << 2]) + data
    return bytes([60 << 2, n]) + data if n < 256 else bytes([61 << 2]) + struct.pack("<H", n) + data


def snappy_copy(offset, length):  # copy with a 2-byte offset, 1..=64 bytes
    return bytes([((length - 1) << 2) | 2]) + struct.pack("<H", offset)


def snappy_repeat(unit, total):
    """`unit` repeated to `total` bytes: one literal, then copies."""
    out, done = snappy_literal(unit), len(unit)
    step = 64 - 64 % len(unit)
    while done < total:
        n = min(step, total - done)
        out += snappy_copy(len(unit), n)
        done += n
    return out


# Prefix-compressed keys: one 20000-byte key, then 4800 entries sharing all of it. Each entry
# is 5 bytes in the block but copied its whole key: 96 MB from a 2.5 KB index (and the snappy
# block is within snappy's own expansion limit).
KEY = 20000
COPIES = 4800
first = varint(0) + varint(KEY) + varint(0)
entry = varint(KEY) + varint(0) + varint(0)
restarts = struct.pack("<II", 0, 1)
body_len = len(first) + KEY + len(entry) * COPIES + len(restarts)
stream = (varint(body_len) + snappy_literal(first) + snappy_repeat(b"a", KEY)
          + snappy_repeat(entry, len(entry) * COPIES) + snappy_literal(restarts))
regression("tf_checkpoint", "shared_key_blowup", split2(table_with_index_block(stream, kind=1), b""))

# A part length that overflowed the read offset (`at + len`; fixed in 461f6ec).
regression("train_checkpoint", "length_overflow", b"B4BCKPT1" + struct.pack("<Q", 2**64 - 8) + b"{}")

# A tensor whose storage and shape claim 2^28 floats (1 GiB) in a ZIP of 2 KB: the reader must
# refuse it before reading (`PytorchFile::read_f32` compares the bytes the shape needs with the
# file's size). Made from the dtype fixture: the `f32` tensor's storage size 6 becomes 2^28,
# its shape (2, 3) becomes (2^14, 2^14) and its stride (3, 1) becomes (2^14, 1).
def oversized_pytorch():
    import io
    import zipfile
    src = zipfile.ZipFile(io.BytesIO(
        fixture("crates", "nlp-models", "tests", "fixtures", "pytorch_dtypes.bin")))
    root = next(n for n in src.namelist() if n.endswith("data.pkl"))
    pkl = src.read(root)
    big = lambda n: b"J" + struct.pack("<i", n)
    old = b"K\x06t" + b"q\x07QK\x00K\x02K\x03\x86q\x08K\x03K\x01\x86"
    new = big(2**28) + b"t" + b"q\x07QK\x00" + big(2**14) + big(2**14) + b"\x86q\x08" + big(2**14) + b"K\x01\x86"
    assert pkl.count(old) == 1, "the fixture's f32 tensor is not where it was"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        # Each entry keeps the fixture's own header (name, date), so the file is the same on
        # every run.
        for info in src.infolist():
            dst.writestr(info, pkl.replace(old, new) if info.filename == root else src.read(info))
    return out.getvalue()


regression("pytorch", "shape_beyond_file", oversized_pytorch())
