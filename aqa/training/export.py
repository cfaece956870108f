"""`aqa export CHECKPOINT --out DIR [--merged]`: a deployable model folder (safetensors + JSON, no pickle).

Small export (default): aqa's own tensors (pooling, heads, adversaries, normalisation buffers) and, under
LoRA, the adapters; the base encoder is loaded again by name and revision, and its weights are checked
against a SHA-256 taken at export time. Merged export (`--merged`): the LoRA adapters merged into a full
encoder written as a Hugging Face folder inside the export, so nothing is downloaded at load time.

    DIR/aqa_export.json        format, kind, config, aspects, domain names/state, base encoder (+ sha256)
    DIR/aqa_model.safetensors  every module tensor that is not a base-encoder weight
    DIR/adapters/              peft adapters (small export of a LoRA run; usable with peft on their own)
    DIR/encoder/               merged encoder: config.json, model.safetensors, preprocessor_config.json
    DIR/domains.json           the training-time domain labels per clip id (used by `aqa eval`)

`load_export(DIR) -> (module, cfg)`; `aqa predict`, `aqa eval` and `load_checkpoint` accept the folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch, transformers and the model are imported where used: `aqa export --help` stays fast
    import torch

    from aqa.model.module import AQAModule

FORMAT = "aqa-export/1"
META_FILE = "aqa_export.json"
TENSORS_FILE = "aqa_model.safetensors"
DOMAINS_FILE = "domains.json"


def base_encoder_keys(module: AQAModule) -> list[str]:
    """State-dict keys of the pretrained encoder weights that training left unchanged (not exported small)."""
    if module.capacity == "separate":
        raise ValueError(
            "aqa export: model.aspect_capacity=separate (one encoder per aspect) is not supported yet"
        )
    if module.cached:  # a screening run: no encoder weights in the checkpoint
        return []
    mode = module.encoder.mode
    if mode == "full":
        return []
    keys = [k for k in module.state_dict() if k.startswith("encoder.")]
    return [k for k in keys if "lora_" not in k] if mode == "lora" else keys


def weights_sha256(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and bytes, in key order (device and layout independent)."""
    import torch

    digest = hashlib.sha256()
    for key in sorted(tensors):
        t = tensors[key].detach().cpu().contiguous()
        digest.update(f"{key}|{t.dtype}|{tuple(t.shape)}".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _save_merged_encoder(module: AQAModule, folder: Path, source: str, revision: str | None) -> None:
    from safetensors.torch import save_file
    from transformers import Wav2Vec2FeatureExtractor

    merged = module.encoder.merged()  # a plain HubertModel (LoRA folded into the weights)
    folder.mkdir(parents=True, exist_ok=True)
    merged.config.save_pretrained(folder)
    save_file(
        {k: v.detach().contiguous() for k, v in merged.state_dict().items()},
        str(folder / "model.safetensors"),
    )
    local = Path(source).is_dir()
    Wav2Vec2FeatureExtractor.from_pretrained(source, revision=None if local else revision).save_pretrained(
        folder
    )


def export(checkpoint: str | Path, out: str | Path, merged: bool = False, overrides: list[str] = ()) -> Path:
    """Write the export folder of a checkpoint; returns it."""
    from omegaconf import OmegaConf
    from safetensors.torch import save_file

    from aqa.model.encoder import resolve_encoder_path
    from aqa.model.sections import FITTED, module_from_checkpoint, read_checkpoint

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"--out {out} exists and is not empty")
    stored = read_checkpoint(checkpoint)
    module, cfg = module_from_checkpoint(stored, overrides)
    config = OmegaConf.to_container(cfg, resolve=True)
    enc = cfg.model.encoder
    if module.encoder.mode == "full" and not merged:
        raise ValueError("model.encoder.mode=full trains every encoder weight: export it with --merged")
    base_keys = set(base_encoder_keys(module))
    state = module.state_dict()
    own = {k: v.detach().contiguous() for k, v in state.items() if not k.startswith("encoder.")}
    meta = {
        "format": FORMAT,
        "kind": "merged" if merged else "small",
        "checkpoint": str(Path(checkpoint).name),
        "aspects": list(cfg.data.aspects),
        "base_encoder": {"name": enc.name, "revision": enc.revision, "mode": enc.mode},
        "hyper_parameters": {k: v for k, v in stored["hyper_parameters"].items() if k in FITTED},
        "domain_state": module.domain_state,
    }
    out.mkdir(parents=True, exist_ok=True)
    if merged:
        _save_merged_encoder(module, out / "encoder", resolve_encoder_path(enc), enc.revision)
        # the export's own config builds a frozen encoder from the merged folder (path set at load time)
        config["model"]["encoder"] |= {"name": "encoder", "revision": None, "mode": "frozen"}
    else:
        own |= {
            k: v.detach().contiguous()
            for k, v in state.items()
            if k.startswith("encoder.") and k not in base_keys
        }
        meta["base_encoder"]["sha256"] = weights_sha256({k: state[k] for k in base_keys})
        if module.encoder.mode == "lora":
            module.encoder.save_adapters(out / "adapters")
    meta["config"] = config
    save_file(own, str(out / TENSORS_FILE), metadata={"format": FORMAT})
    (out / META_FILE).write_text(json.dumps(meta, indent=1))
    (out / DOMAINS_FILE).write_text(json.dumps(module.domain_table))
    return out


def load_export(path: str | Path, overrides: list[str] = ()) -> tuple[AQAModule, object]:
    """-> (module in eval mode, config = the export's config <- overrides) from an `aqa export` folder."""
    from safetensors.torch import load_file

    from aqa.config import load_config
    from aqa.model.module import AQAModule
    from aqa.model.sections import module_sections

    path = Path(path)
    meta_path = path / META_FILE
    if not meta_path.is_file():
        raise FileNotFoundError(
            f"{path} is not an aqa export folder (no {META_FILE}); see `aqa export --help`"
        )
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(
            f"{meta_path}: unknown export format {meta.get('format')!r} (this aqa reads {FORMAT})"
        )
    config = meta["config"]
    if meta["kind"] == "merged":
        config["model"]["encoder"]["name"] = str((path / "encoder").resolve())
    cfg = load_config(None, list(overrides), base=config)
    domains = path / DOMAINS_FILE
    module = AQAModule(
        **module_sections(cfg),
        **meta["hyper_parameters"],
        domain_state=meta.get("domain_state"),
        domain_table=json.loads(domains.read_text()) if domains.is_file() else None,
    )
    tensors = load_file(str(path / TENSORS_FILE))
    missing, unexpected = module.load_state_dict(tensors, strict=False)
    # small: the base encoder came from its name/revision; merged: from the export's encoder/ folder
    expected_missing = set(base_encoder_keys(module))
    if unexpected or set(missing) != expected_missing:
        wrong = sorted(set(unexpected) | (set(missing) ^ expected_missing))[:5]
        raise ValueError(f"{path}: the export's tensors do not fit the model its config builds: {wrong}")
    if meta["kind"] == "small":
        _check_base_encoder(module, meta["base_encoder"], path)
    return module.eval(), cfg


def _check_base_encoder(module: AQAModule, base: dict, path: Path) -> None:
    state = module.state_dict()
    found = weights_sha256({k: state[k] for k in base_encoder_keys(module)})
    if found != base["sha256"]:
        raise ValueError(
            f"{path}: the base encoder loaded now ({module.model_cfg.encoder.name}, revision "
            f"{module.model_cfg.encoder.revision}) is not the one the model was trained on "
            f"({base['name']}, revision {base['revision']}): pin model.encoder.revision, point "
            "model.encoder.name at a copy of those weights, or export with --merged"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="aqa export", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", help="a .ckpt written by aqa train")
    parser.add_argument("overrides", nargs="*", help="key=value overrides of the stored config")
    parser.add_argument("--out", required=True, help="export folder to write (new or empty)")
    parser.add_argument(
        "--merged", action="store_true", help="merge LoRA into a full encoder inside the export"
    )
    args = parser.parse_args(argv)
    out = export(args.checkpoint, args.out, args.merged, args.overrides)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"wrote {out} ({size / 1e6:.1f} MB, {'merged' if args.merged else 'small'} export)")
    return 0
