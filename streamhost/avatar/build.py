"""Export the default puppet to a single self-contained ONNX file (build time; needs torch).

    python -m streamhost.avatar.build [--out assets/avatar/default/puppet.onnx]

Input ``params`` (B, N_PARAMS) float32, output ``rgba`` (B, 4, H, W) float32, dynamic batch.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import warnings
from pathlib import Path

DEFAULT_OUT = Path("assets/avatar/default/puppet.onnx")
OPSET = 17


def export(out: str | os.PathLike[str] = DEFAULT_OUT, width: int = 368, height: int = 400) -> Path:
    """Export ``PuppetModel(width, height)`` to ``out`` with all weights inside the file."""
    import onnx
    import torch

    from streamhost.avatar.model import PuppetModel
    from streamhost.avatar.params import N_PARAMS

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model = PuppetModel(width, height).eval()
    example = torch.zeros(2, N_PARAMS, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp) / "puppet.onnx"
        with warnings.catch_warnings():
            # The TorchScript exporter is deprecated but writes one file with no external data
            # and constant-folds the grid buffers; the model has no control flow it would miss.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (example,),
                str(tmp_path),
                input_names=["params"],
                output_names=["rgba"],
                dynamic_axes={"params": {0: "batch"}, "rgba": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        # Loading pulls in any external-data file, so re-saving yields a single file either way.
        proto = onnx.load(str(tmp_path))
    # The reshapes around the colour GEMM hide the output shape from the exporter; state it so
    # runners can read the tile size from the file.
    dims = proto.graph.output[0].type.tensor_type.shape.dim
    for d, v in zip(dims[1:], (4, height, width), strict=True):
        d.Clear()
        d.dim_value = v
    proto.doc_string = f"streamhost puppet {width}x{height}, {N_PARAMS} params"
    onnx.checker.check_model(proto)
    onnx.save(proto, str(out), save_as_external_data=False)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT), help="ONNX file to write")
    ap.add_argument("--width", type=int, default=368)
    ap.add_argument("--height", type=int, default=400)
    args = ap.parse_args(argv)
    path = export(args.out, args.width, args.height)
    print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)")


if __name__ == "__main__":
    main()
