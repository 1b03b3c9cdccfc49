"""Weights files: a dict of tensors <-> safetensors bytes, with their sha256 and crc32.

The ``safetensors`` library serialises the tensors to one in-memory image (the save's
snapshot); the image goes to disk once while a second thread hashes it. Reading parses the
header and the data without executing anything. Nothing here ever unpickles.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any, Mapping

import torch

from rlkit.checkpoints import workers
from rlkit.checkpoints.errors import CheckpointCorruptError, CheckpointNotFoundError, UnsafeCheckpointError

__all__ = ["WeightsInfo", "prepare_tensors", "write_weights", "read_weights", "read_weights_header", "sha256_of"]

# torch dtype -> safetensors dtype tag (the tags of the safetensors spec).
_DTYPE_TAGS = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL", torch.complex64: "C64",
}
for _name, _tag in (("uint16", "U16"), ("uint32", "U32"), ("uint64", "U64")):
    if hasattr(torch, _name):
        _DTYPE_TAGS[getattr(torch, _name)] = _tag

# Hash on a second thread only when the file is big enough for that to pay off.
_THREAD_HASH_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class WeightsInfo:
    """What the metadata file records about a weights file, to verify it on load."""

    file: str
    sha256: str
    crc32: str
    size_bytes: int
    num_tensors: int

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def prepare_tensors(tensors: Mapping[str, Any], where: str = "the state dict") -> dict[str, torch.Tensor]:
    """Detached, contiguous CPU tensors (copied only where needed), checked for saving.

    Raises ``TypeError`` naming the first entry that is not a dense tensor of a dtype
    safetensors stores.
    """
    out: dict[str, torch.Tensor] = {}
    storages: set[int] = set()  # safetensors refuses tensors that share memory (tied weights)
    for name, value in tensors.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"Tensor names in {where} must be non-empty strings, got {name!r}.")
        if not isinstance(value, torch.Tensor):
            raise TypeError(
                f"{where}[{name!r}] is a {type(value).__name__}, expected a torch.Tensor. Checkpoint "
                f"weights hold tensors only; put other values in the metadata (plain JSON)."
            )
        if value.layout != torch.strided:
            raise TypeError(f"{where}[{name!r}] is a {value.layout} tensor; call .to_dense() on it before saving.")
        if value.dtype not in _DTYPE_TAGS:
            raise TypeError(
                f"{where}[{name!r}] has dtype {value.dtype}, which safetensors cannot store; "
                f"convert it (e.g. .float()) before saving. Supported: "
                f"{', '.join(sorted(str(d).replace('torch.', '') for d in _DTYPE_TAGS))}."
            )
        value = value.detach()
        if value.device.type != "cpu":
            value = value.cpu()
        if value.is_conj():
            value = value.resolve_conj()
        value = value if value.is_contiguous() else value.contiguous()
        storage = value.untyped_storage().data_ptr()
        if storage in storages and value.numel():
            value = value.clone()  # a tied weight is stored once per name
        storages.add(storage)
        out[name] = value
    return out


def write_weights(file: str | os.PathLike, tensors: Mapping[str, torch.Tensor]) -> WeightsInfo:
    """Write ``tensors`` to ``file`` in safetensors format and return its sha256,
    crc32 and size (computed from the very bytes written, on a second thread)."""
    import safetensors.torch

    file = Path(file)
    tensors = prepare_tensors(tensors)
    # safetensors sorts its header; the state-dict order is kept in the metadata (strings only).
    order = json.dumps(list(tensors))
    image = safetensors.torch.save(dict(tensors), metadata={"format": "pt", "rlkit_order": order})

    def sha256() -> str:  # hashlib and zlib release the GIL on large buffers
        return hashlib.sha256(image).hexdigest()

    def crc32() -> str:
        return f"{zlib.crc32(image):08x}"

    # Big files: both hashes run on pool threads while this thread writes.
    pending = [workers.submit(sha256), workers.submit(crc32)] if len(image) >= _THREAD_HASH_BYTES else None
    try:
        with open(file, "wb") as f:
            f.write(image)  # fsynced by atomic_directory, with the rest of the folder
    finally:
        sha, crc = [p.result() for p in pending] if pending is not None else (sha256(), crc32())
    return WeightsInfo(file.name, sha, crc, len(image), len(tensors))


def sha256_of(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


def _looks_like_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    (n,) = struct.unpack("<Q", data[:8])
    return 8 + n <= len(data) and data[8:9] == b"{"


def _refuse_if_pickle(data: bytes, file: Path) -> None:
    """Pickles (protocol 2+ start with 0x80) and torch.save zip archives are refused unread."""
    kind = None
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        kind = "a pickle"
    elif data[:4] == b"PK\x03\x04":
        kind = "a zip archive (the format of torch.save, which holds a pickle)"
    if kind:
        raise UnsafeCheckpointError(
            f"Refusing to load {file}: it is {kind}, not a safetensors file. rlkit never unpickles "
            f"(unpickling can run arbitrary code), so this file was not executed. If you did not put "
            f"it there, treat the folder as tampered with; re-save the checkpoint with save_to_path()."
        )


def read_weights_header(file: str | os.PathLike) -> dict[str, Any]:
    """The safetensors JSON header of ``file`` (reads only the header; no tensors, no hashing)."""
    file = Path(file)
    try:
        with open(file, "rb") as f:
            head = f.read(8)
            n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            size = os.fstat(f.fileno()).st_size
            if n < 2 or 8 + n > size:
                raise CheckpointCorruptError(
                    f"{file} is not a valid safetensors file (its header length does not fit the "
                    f"{size}-byte file). Re-save the checkpoint."
                )
            return json.loads(f.read(n))
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"{file} is missing; the checkpoint folder is incomplete.") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointCorruptError(f"{file} has a damaged safetensors header ({err}). Re-save the checkpoint.") from None


def read_weights(file: str | os.PathLike, expected: Mapping[str, Any], verify: str = "crc32") -> dict[str, torch.Tensor]:
    """Read and verify a weights file written by :func:`write_weights`.

    Args:
        file: the ``model.safetensors`` path.
        expected: its record in the metadata file (``size_bytes``, ``crc32``, ``sha256``).
        verify: ``"crc32"`` (default; fast, catches truncation and flipped bytes) or
            ``"sha256"`` (the cryptographic hash, ~4x slower on big files).

    Returns:
        ``{name: tensor}`` in the order the module's state dict had when saved.
    """
    file = Path(file)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise CheckpointNotFoundError(
            f"{file} is missing: the checkpoint folder is incomplete (copied only in part, or the "
            f"file was deleted). Copy the whole folder again, or re-save the checkpoint."
        ) from None
    want_size = int(expected.get("size_bytes", -1))
    if not _looks_like_safetensors(data):
        _refuse_if_pickle(data, file)
        if want_size < 0 or len(data) == want_size:
            raise CheckpointCorruptError(
                f"{file} is corrupt: it is not a valid safetensors file. The file was damaged or "
                f"replaced after saving; re-save the checkpoint or restore the folder from a backup."
            )
    if want_size >= 0 and len(data) != want_size:
        kind = "truncated" if len(data) < want_size else "longer than recorded"
        raise CheckpointCorruptError(
            f"{file} is corrupt ({kind}): it has {len(data)} bytes, but the checkpoint recorded "
            f"{want_size} bytes (with its content hash) when it was saved. The file was damaged or "
            f"modified after saving; re-save the checkpoint or restore the folder from a backup."
        )
    if verify not in ("crc32", "sha256"):
        raise ValueError(f"verify must be 'crc32' or 'sha256', got {verify!r}.")
    use_crc = verify == "crc32" and "crc32" in expected

    def check() -> bool:  # zlib / hashlib release the GIL: this overlaps with the parsing below
        if use_crc:
            return f"{zlib.crc32(data):08x}" == expected.get("crc32")
        return sha256_of(data) == expected.get("sha256")

    pending = workers.submit(check) if len(data) >= _THREAD_HASH_BYTES else None
    parse_error = None
    try:
        tensors = _parse(data)
    except Exception as err:  # safetensors raises its own SafetensorError
        tensors, parse_error = {}, err
    if not (pending.result() if pending is not None else check()):
        raise CheckpointCorruptError(
            f"{file} is corrupt: hash mismatch, its content does not match the one recorded when it "
            f"was saved (sha256 now {sha256_of(data)}, recorded {expected.get('sha256')}). The file "
            f"was damaged or modified after saving; re-save the checkpoint or restore it from a backup."
        )
    if parse_error is not None:
        raise CheckpointCorruptError(
            f"{file} cannot be parsed as safetensors ({type(parse_error).__name__}: {parse_error}). "
            f"Re-save the checkpoint or restore it from a backup."
        )
    return tensors


def _parse(data: bytes) -> dict[str, torch.Tensor]:
    """Tensors from safetensors bytes (parsed by the safetensors library), in header order."""
    import safetensors.torch

    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    order = json.loads((header.get("__metadata__") or {}).get("rlkit_order", "null")) or [
        k for k in header if k != "__metadata__"
    ]
    tensors = safetensors.torch.load(data)
    return {k: tensors[k] for k in order if k in tensors}
