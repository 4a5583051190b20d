"""A tiny random Llama with a freshly trained byte-level BPE: a real transformers model in seconds.

Tests use it to check batching, padding and decoding logic without downloading anything; its
answers are noise, so tests compare evalkit with itself (batched vs one at a time), not with truth.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

_CORPUS = [
    "Question: Which is the most likely effect of an increase in rotation? Answer: days become shorter.",
    "The capital of France is Paris. The capital of Italy is Rome. Plants need light and water.",
    "Energy changes form: kinetic energy increases and potential energy decreases down a hill.",
    "Solve the following math problem step by step. At the end, write the final answer.",
    "A B C D E 1 2 3 4 5 6 7 8 9 0 , . : ; ? ! ( ) [ ] - + = # $ % ' \" \n\n",
]


def build_tiny_model(directory: Path, vocab_size: int = 512, seed: int = 0, chat_template: bool = True) -> Path:
    """Write a random 2-layer Llama and its tokenizer to ``directory``; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(_CORPUS * 20, trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                        pad_token="<pad>")
    if chat_template:
        tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # sharper logits than the default init, so greedy choices are not near-ties
        model.lm_head.weight.mul_(2.0)
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory
