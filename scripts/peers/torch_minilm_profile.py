"""PyTorch side of the BERT speed breakdown in README.md ("BERT speed on CPU").

Times the parts of a MiniLM-L6 forward at batch 32 x 128 the way
`BERT_BENCH_REPORT=1 BERT_BENCH_PROFILE=1 cargo bench --bench bert` does for bert4burn:
the 36 dense layers, GELU and the attention core (scaled_dot_product_attention), each on tensors of
the real shapes, plus the whole forward. Median of 5 runs after 2 warm-up runs, seconds per forward.

    python scripts/peers/torch_minilm_profile.py [data-cache/minilm]
"""

import sys
import time

import torch
from transformers import AutoModel

BATCH, LEN = 32, 128


def median_seconds(f, runs=5):
    f()
    f()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2]


def main():
    model_dir = sys.argv[1] if len(sys.argv) > 1 else "data-cache/minilm"
    torch.manual_seed(0)
    model = AutoModel.from_pretrained(model_dir).eval()
    cfg = model.config
    hidden, inter, heads = cfg.hidden_size, cfg.intermediate_size, cfg.num_attention_heads
    x = torch.randn(BATCH, LEN, hidden)
    h = torch.randn(BATCH, LEN, inter)
    q = torch.randn(BATCH, heads, LEN, hidden // heads)
    ids = torch.randint(1000, cfg.vocab_size, (BATCH, LEN))
    layers = model.encoder.layer
    with torch.no_grad():
        dense = 0.0
        for layer in layers:
            for lin in [
                layer.attention.self.query,
                layer.attention.self.key,
                layer.attention.self.value,
                layer.attention.output.dense,
                layer.intermediate.dense,
            ]:
                dense += median_seconds(lambda: lin(x))
            dense += median_seconds(lambda: layer.output.dense(h))
        gelu = len(layers) * median_seconds(lambda: torch.nn.functional.gelu(h))
        attention = len(layers) * median_seconds(
            lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q)
        )
        full = median_seconds(lambda: model(input_ids=ids))
    print(
        f"torch {torch.__version__} threads={torch.get_num_threads()} seconds per forward: "
        f"dense={dense:.4f} gelu={gelu:.4f} attention={attention:.4f} full={full:.4f}"
    )


if __name__ == "__main__":
    main()
