"""``streamhost avatar build | import-wav2lip``: packs from a shop's photos, a presenter video or
a Wav2Lip checkpoint. Parsed arguments in; an exit code out (2 with the problem named on stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def cmd_avatar(args: argparse.Namespace) -> int:
    """``streamhost avatar build | import-wav2lip``."""
    from .avatar.pack import PackError
    from .avatar.packbuild import BuildError, ConsentInfo

    if args.avatar_cmd == "import-wav2lip":
        from .avatar.wav2lip_import import ImportError_, import_checkpoint

        try:
            out = import_checkpoint(args.checkpoint, args.size, args.out)
        except ImportError_ as e:
            print(f"streamhost avatar import-wav2lip: {e}", file=sys.stderr)
            return 2
        print(f"wrote {out} (Wav2Lip S={args.size}, the wav2lip family's ONNX contract)")
        return 0
    consent = ConsentInfo(
        person=args.person or "",
        agreed=(args.consent or "").strip().lower() == "yes",
        date=args.consent_date or "",
        note=args.consent_note or "",
    )
    images = args.image or []
    family = args.family or ("wav2lip" if args.model else "photo" if images else "clip")
    try:
        if family == "photo":
            from .avatar.photo_build import build_photo_pack

            if args.video:
                raise BuildError("--family photo takes --image (1-10 photos), not --video")
            pack = build_photo_pack(
                args.out, images=images, consent=consent, width=args.width,
                height=args.height, delete_source=args.delete_source,
            )  # fmt: skip
        elif family == "clip":
            from .avatar.clip_build import build_clip_pack, format_report

            if not args.video:
                raise BuildError("--family clip takes --video (>= 60 s of the presenter talking)")
            pack = build_clip_pack(
                args.out, video=args.video, consent=consent, script=args.script,
                width=args.width, height=args.height, delete_source=args.delete_source,
            )  # fmt: skip
            print(format_report(pack.root))
        else:
            from .avatar.packbuild import build_pack

            if not args.model:
                raise BuildError("--family wav2lip needs --model (a Wav2Lip-contract ONNX)")
            if len(images) > 1:
                raise BuildError("--family wav2lip takes one --image")
            pack = build_pack(
                args.out, model=args.model, consent=consent, video=args.video,
                image=images[0] if images else None, size=args.size, width=args.width,
                height=args.height, max_seconds=args.seconds,
            )  # fmt: skip
            if args.delete_source:
                from .avatar.photo_build import delete_sources

                delete_sources([Path(args.video or images[0])])
    except (BuildError, PackError) as e:
        print(f"streamhost avatar build: {e}", file=sys.stderr)
        return 2
    except RuntimeError as e:  # the landmark models are not installed
        print(f"streamhost avatar build: {e}", file=sys.stderr)
        return 2
    print(f"built {pack.root}: {pack.describe()}")
    return 0
