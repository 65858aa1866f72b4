"""Build a tiny random multilingual Whisper model for faster-whisper, offline.

transformers ``WhisperConfig`` with tiny dimensions and random weights -> saved with a tokenizer
we construct with the ``tokenizers`` library -> ``ctranslate2.converters.TransformersConverter``
-> a folder faster-whisper loads (``tokenizer.json`` copied beside ``model.bin``). Its
transcripts are noise, but the whole ASR path runs without downloading anything.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

# faster-whisper's language codes, in Whisper's token order (ids 50259...).
from faster_whisper.tokenizer import _LANGUAGE_CODES

VOCAB_SIZE = 51865  # the multilingual Whisper vocabulary size
N_TEXT = 50256  # regular text tokens; id 50256 holds the empty token (multilingual layout)
SPECIALS_BEFORE_LANGS = ["<|endoftext|>", "<|startoftranscript|>"]
SPECIALS_AFTER_LANGS = [
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nospeech|>",
    "<|notimestamps|>",
]


def _byte_chars() -> list[str]:
    """GPT-2's byte -> printable character table (what ByteLevel decoding expects)."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs, strict=True))]


def _vocab() -> tuple[dict[str, int], list[str]]:
    """Token -> id for the whole vocabulary, and the special tokens in id order."""
    vocab: dict[str, int] = {}
    for i, ch in enumerate(_byte_chars()):
        vocab[ch] = i
    # Filler "words" so the decoder's random picks read as text (noise, but printable).
    for i in range(256, N_TEXT):
        vocab[f"Ġw{i}"] = i
    vocab[""] = N_TEXT
    langs = [f"<|{code}|>" for code in _LANGUAGE_CODES]
    specials = SPECIALS_BEFORE_LANGS + langs + SPECIALS_AFTER_LANGS
    for tok in specials:
        vocab[tok] = len(vocab)
    n = len(vocab)
    for i in range(VOCAB_SIZE - n):
        tok = "<|%.2f|>" % (i * 0.02)
        vocab[tok] = n + i
        specials.append(tok)
    assert len(vocab) == VOCAB_SIZE, len(vocab)
    return vocab, specials


def build_tiny_whisper(out_dir: Path, seed: int = 0) -> Path:
    """Write a faster-whisper model folder to ``out_dir`` (returned); takes a few seconds."""
    import ctranslate2
    import tokenizers
    import torch
    from transformers import PreTrainedTokenizerFast, WhisperConfig, WhisperForConditionalGeneration

    out_dir = Path(out_dir)
    hf_dir = out_dir.parent / (out_dir.name + "-hf")
    vocab, specials = _vocab()
    langs = [f"<|{code}|>" for code in _LANGUAGE_CODES]
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<|endoftext|>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tokenizers.decoders.ByteLevel()
    tok.add_special_tokens(specials)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|endoftext|>",
        bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        additional_special_tokens=SPECIALS_BEFORE_LANGS[1:] + langs + SPECIALS_AFTER_LANGS,
    )
    torch.manual_seed(seed)
    cfg = WhisperConfig(
        vocab_size=VOCAB_SIZE,
        num_mel_bins=80,
        d_model=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=128,
        decoder_ffn_dim=128,
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=vocab["<|startoftranscript|>"],
        pad_token_id=vocab["<|endoftext|>"],
        bos_token_id=vocab["<|endoftext|>"],
        eos_token_id=vocab["<|endoftext|>"],
        suppress_tokens=[],
        begin_suppress_tokens=[vocab["<|endoftext|>"]],
    )
    model = WhisperForConditionalGeneration(cfg).eval()
    hf_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(hf_dir)
    fast.save_pretrained(hf_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    conv = ctranslate2.converters.TransformersConverter(str(hf_dir), copy_files=["tokenizer.json"])
    conv.convert(str(out_dir), quantization="float32")
    # lang_ids must list the language tokens for detection and multilingual prompts.
    cfg_path = out_dir / "config.json"
    meta = json.loads(cfg_path.read_text())
    meta["lang_ids"] = [vocab[t] for t in langs]
    cfg_path.write_text(json.dumps(meta))
    shutil.rmtree(hf_dir, ignore_errors=True)
    return out_dir
