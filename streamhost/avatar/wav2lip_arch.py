"""The Wav2Lip generator in torch (dev extra): for exporting models that follow the pack contract.

Inputs ``mel`` (B, 1, 80, 16) and ``face`` (B, 6, S, S); output ``out`` (B, 3, S, S) in [0, 1].
S = 96 is the published Wav2Lip layout (Prajwal et al., 2020), block for block; S = 256 is the
layout of the common 256 px retrainings: one more stride-2 encoder block (8 -> 4) and its
decoder block, and a 4x4 bottleneck convolution (256 halves to 4, not 3).

Only tests and ``export_onnx`` import this module: the engine runs the exported ONNX file.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

SIZES = (96, 256)


class Conv2d(nn.Module):
    """Conv + BatchNorm + ReLU, with an optional identity shortcut (same channels and size)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel_size: int,
        stride: int | tuple[int, int] = 1,
        padding: int = 0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.Conv2d(cin, cout, kernel_size, stride, padding), nn.BatchNorm2d(cout)
        )
        self.act = nn.ReLU()
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        if self.residual:
            out = out + x
        return self.act(out)


class Conv2dTranspose(nn.Module):
    """Transposed conv + BatchNorm + ReLU (the decoder's upsampling step)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel_size: int,
        stride: int,
        padding: int,
        output_padding: int = 0,
    ) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ConvTranspose2d(cin, cout, kernel_size, stride, padding, output_padding),
            nn.BatchNorm2d(cout),
        )
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv_block(x))


def _down(cin: int, cout: int, n_res: int) -> nn.Sequential:
    layers = [Conv2d(cin, cout, 3, 2, 1)]
    layers += [Conv2d(cout, cout, 3, 1, 1, residual=True) for _ in range(n_res)]
    return nn.Sequential(*layers)


def _up(cin: int, cout: int, n_res: int) -> nn.Sequential:
    layers: list[nn.Module] = [Conv2dTranspose(cin, cout, 3, 2, 1, output_padding=1)]
    layers += [Conv2d(cout, cout, 3, 1, 1, residual=True) for _ in range(n_res)]
    return nn.Sequential(*layers)


class Wav2Lip(nn.Module):
    """(mel (B,1,80,16), face (B,6,S,S)) -> (B,3,S,S) lower-face image, BGR in [0, 1]."""

    def __init__(self, size: int = 96) -> None:
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"Wav2Lip size must be one of {SIZES}, got {size}")
        self.size = size
        # Encoder: (out channels, residual blocks) of each stride-2 stage after the 7x7 stem.
        downs = [(32, 2), (64, 3), (128, 2), (256, 2), (512, 1)]
        if size == 256:
            downs.append((512, 1))  # 8 -> 4
        bottleneck = 3 if size == 96 else 4
        enc: list[nn.Module] = [nn.Sequential(Conv2d(6, 16, 7, 1, 3))]
        chans = [16]
        for cout, n_res in downs:
            enc.append(_down(chans[-1], cout, n_res))
            chans.append(cout)
        enc.append(nn.Sequential(Conv2d(512, 512, bottleneck, 1, 0), Conv2d(512, 512, 1, 1, 0)))
        chans.append(512)
        self.face_encoder_blocks = nn.ModuleList(enc)

        self.audio_encoder = nn.Sequential(
            Conv2d(1, 32, 3, 1, 1),
            Conv2d(32, 32, 3, 1, 1, residual=True),
            Conv2d(32, 32, 3, 1, 1, residual=True),
            Conv2d(32, 64, 3, (3, 1), 1),
            Conv2d(64, 64, 3, 1, 1, residual=True),
            Conv2d(64, 64, 3, 1, 1, residual=True),
            Conv2d(64, 128, 3, 3, 1),
            Conv2d(128, 128, 3, 1, 1, residual=True),
            Conv2d(128, 128, 3, 1, 1, residual=True),
            Conv2d(128, 256, 3, (3, 2), 1),
            Conv2d(256, 256, 3, 1, 1, residual=True),
            Conv2d(256, 512, 3, 1, 0),
            Conv2d(512, 512, 1, 1, 0),
        )

        # Decoder: each stage's output is concatenated with the encoder feature of its size.
        skips = chans[::-1]  # 512 (1x1), 512, ..., 16 (S x S)
        dec: list[nn.Module] = [nn.Sequential(Conv2d(512, 512, 1, 1, 0))]
        cin = 512 + skips[0]
        dec.append(
            nn.Sequential(
                Conv2dTranspose(cin, 512, bottleneck, 1, 0),
                Conv2d(512, 512, 3, 1, 1, residual=True),
            )
        )
        cin = 512 + skips[1]
        ups = [(512, 2), (384, 2), (256, 2), (128, 2), (64, 2)]
        if size == 256:
            ups.insert(0, (512, 1))  # 4 -> 8
        for i, (cout, n_res) in enumerate(ups):
            dec.append(_up(cin, cout, n_res))
            cin = cout + skips[2 + i]
        self.face_decoder_blocks = nn.ModuleList(dec)
        self.output_block = nn.Sequential(
            Conv2d(cin, 32, 3, 1, 1), nn.Conv2d(32, 3, 1, 1, 0), nn.Sigmoid()
        )

    def forward(self, mel: torch.Tensor, face: torch.Tensor) -> torch.Tensor:
        feats = []
        x = face
        for f in self.face_encoder_blocks:
            x = f(x)
            feats.append(x)
        x = self.audio_encoder(mel)
        for f in self.face_decoder_blocks:
            x = torch.cat((f(x), feats.pop()), dim=1)
        return self.output_block(x)


def calibrate(model: Wav2Lip, batches: int = 1, batch: int | None = None) -> Wav2Lip:
    """Set BatchNorm statistics from random inputs and switch to eval mode.

    Freshly initialised, the audio path's activations shrink through its 13 convolutions and
    the output ignores the mel input; with statistics measured on data every layer runs at unit
    scale (as after training), so even random weights redraw the mouth differently for
    different sounds, which is what the tests need to see.
    """
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batches
    model.train()
    s = model.size
    batch = batch or (4 if s == 96 else 2)  # S = 256 costs 7x per sample; 2 still calibrates
    with torch.no_grad():
        for _ in range(batches):
            model(torch.rand(batch, 1, 80, 16) * 8 - 4, torch.rand(batch, 6, s, s))
    return model.eval()


def export_onnx(path: str | Path, size: int = 96, seed: int = 0) -> Path:
    """Write a random-weights Wav2Lip of ``size`` to ``path`` as ONNX (inputs ``mel``, ``face``,
    output ``out``, dynamic batch). The weights are random: lips move, but not like speech."""
    torch.manual_seed(seed)
    model = calibrate(Wav2Lip(size))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    mel = torch.zeros(1, 1, 80, 16)
    face = torch.zeros(1, 6, size, size)
    batch = {0: "batch"}
    with torch.no_grad():
        # The TorchScript exporter: a few seconds here against ~10x that for the dynamo one.
        torch.onnx.export(
            model,
            (mel, face),
            str(out),
            input_names=["mel", "face"],
            output_names=["out"],
            dynamic_axes={"mel": batch, "face": batch, "out": batch},
            opset_version=17,
            dynamo=False,
        )
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="export a random-weights Wav2Lip to ONNX")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=96, choices=SIZES)
    args = ap.parse_args()
    print(export_onnx(args.out, args.size))
