"""Peer of `cargo xtask bench decode`: transformers' `generate` on MiniLM-L6 as a causal decoder.

    python hf_generate.py save MINILM_DIR LM_DIR   # BertLMHeadModel(is_decoder=True), head seeded
    python hf_generate.py run LM_DIR                # timings, one HF_DECODE line per case

`save` loads the MiniLM encoder into `BertLMHeadModel` (its LM head is new, drawn with seed 7)
and saves it once, so that bert4burn (LM mode) and transformers load the same weights. `run`
decodes 32 new tokens (end token hidden until then, KV cache on) after the same 256-token
sources as benches/decode.rs (the same LCG), greedy at batch 1 and 32 and beam 4 at batch 1.
"""
import sys
import time

import torch
from transformers import BertConfig, BertLMHeadModel

SOURCE, NEW, SEP = 256, 32, 102


def sources(rows, vocab):
    state, out = 12345, []
    for _ in range(rows):
        ids = [101]
        for _ in range(SOURCE - 2):
            state = (state * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            ids.append(1000 + (state >> 33) % (vocab - 1000))
        ids.append(SEP)
        out.append(ids)
    return torch.tensor(out)


def save(minilm, lm_dir):
    config = BertConfig.from_pretrained(minilm)
    config.is_decoder = True
    torch.manual_seed(7)
    model = BertLMHeadModel.from_pretrained(minilm, config=config)
    model.save_pretrained(lm_dir, safe_serialization=True)


def run(lm_dir):
    model = BertLMHeadModel.from_pretrained(lm_dir).eval()
    vocab = model.config.vocab_size
    cases = [("lm_greedy", 1, 1), ("lm_greedy", 32, 1), ("lm_beam4", 1, 4)]
    with torch.inference_mode():
        for case, batch, beams in cases:
            ids = sources(batch, vocab)
            kwargs = dict(
                attention_mask=torch.ones_like(ids), max_new_tokens=NEW, min_new_tokens=NEW,
                do_sample=False, num_beams=beams, eos_token_id=SEP, pad_token_id=0,
                use_cache=True,
            )
            model.generate(ids[:1], **dict(kwargs, num_beams=1, attention_mask=torch.ones_like(ids[:1])))  # warm-up
            start = time.perf_counter()
            out = model.generate(ids, **kwargs)
            seconds = time.perf_counter() - start
            new = out[:, SOURCE:].tolist()
            tokens = ";".join(",".join(str(t) for t in row) for row in new)
            print(f"HF_DECODE case={case} batch={batch} seconds={seconds:.4f} "
                  f"tokens_per_s={batch * NEW / seconds:.1f} threads={torch.get_num_threads()} "
                  f"torch={torch.__version__} tokens={tokens}", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "save":
        save(sys.argv[2], sys.argv[3])
    else:
        run(sys.argv[2])
