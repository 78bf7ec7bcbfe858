"""Workload outputs: digest, save, load and compare (standard library; torch/numpy only when
the outputs contain their objects, and then they are already imported).

Outputs are tensors, numpy arrays, numbers, strings, None, or nested lists/tuples/dicts of
them. Tensors are detached and moved to the CPU before saving, so the comparing process needs
no GPU. Saved with ``pickle`` (a torch tensor pickles through torch's own reducer); these files
are written and read only by this package, never taken from elsewhere.
"""

from __future__ import annotations

import ctypes
import hashlib
import math
import pickle
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


def _is_tensor(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


def _is_ndarray(obj: Any) -> bool:
    np = sys.modules.get("numpy")
    return np is not None and isinstance(obj, (np.ndarray, np.generic))


def to_cpu(obj: Any) -> Any:
    """Detached CPU copies of every tensor in ``obj`` (containers rebuilt, the rest as is)."""
    if _is_tensor(obj):
        t = obj.detach()
        if t.layout != sys.modules["torch"].strided:
            t = t.to_dense()
        return t.cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # namedtuple
        return type(obj)(*(to_cpu(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def _tensor_bytes(t: Any) -> bytes:
    t = t.detach().cpu().contiguous()
    nbytes = t.numel() * t.element_size()
    if nbytes == 0:
        return b""
    return ctypes.string_at(t.data_ptr(), nbytes)


def _feed(h: Any, obj: Any) -> None:
    if _is_tensor(obj):
        if obj.layout != sys.modules["torch"].strided:
            obj = obj.to_dense()
        h.update(f"T{obj.dtype}{tuple(obj.shape)}|".encode())
        h.update(_tensor_bytes(obj))
    elif _is_ndarray(obj):
        np = sys.modules["numpy"]
        arr = np.ascontiguousarray(obj)
        h.update(f"N{arr.dtype.str}{arr.shape}|".encode())
        if arr.dtype.hasobject:
            for item in arr.ravel().tolist():
                _feed(h, item)
        else:
            h.update(arr.tobytes())
    elif obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
        h.update(f"{type(obj).__name__}:{obj!r}|".encode())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}|".encode())
        for key in sorted(obj, key=repr):
            _feed(h, key)
            _feed(h, obj[key])
    elif isinstance(obj, (list, tuple)):
        h.update(f"{'L' if isinstance(obj, list) else 'U'}{len(obj)}|".encode())
        for item in obj:
            _feed(h, item)
    else:
        h.update(f"O{type(obj).__module__}.{type(obj).__qualname__}:{obj!r}|".encode())


def digest(obj: Any) -> str:
    """sha256 of the values (dtypes, shapes, bytes, structure) in ``obj``: equal digests mean
    bit-identical outputs."""
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def summarize(obj: Any, *, _depth: int = 0) -> str:
    """A short description, e.g. ``tensor(float32, [4, 10])`` or ``list[3]``."""
    if _is_tensor(obj):
        return f"tensor({str(obj.dtype).replace('torch.', '')}, {list(obj.shape)})"
    if _is_ndarray(obj):
        return f"ndarray({obj.dtype}, {list(getattr(obj, 'shape', ()))})"
    if isinstance(obj, dict):
        if _depth >= 1:
            return f"dict[{len(obj)}]"
        inner = ", ".join(f"{k!r}: {summarize(v, _depth=_depth + 1)}" for k, v in list(obj.items())[:4])
        return "{" + inner + (", ..." if len(obj) > 4 else "") + "}"
    if isinstance(obj, (list, tuple)):
        if _depth >= 1 or len(obj) > 4:
            return f"{type(obj).__name__}[{len(obj)}]"
        return f"{type(obj).__name__}(" + ", ".join(summarize(v, _depth=_depth + 1) for v in obj) + ")"
    text = repr(obj)
    return text if len(text) <= 40 else text[:37] + "..."


def save(obj: Any, path: str | Path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        pickle.dump(to_cpu(obj), handle, protocol=4)
    return str(path)


def load(path: str | Path) -> Any:
    with open(path, "rb") as handle:
        return pickle.load(handle)  # noqa: S301 - our own file, written by save() above


@dataclass
class Agreement:
    agree: bool | None  # None: could not be decided (e.g. outputs not loadable here)
    mode: str  # "exact" or "allclose"
    rtol: float | None
    atol: float | None
    max_abs_diff: float | None
    message: str
    before_digest: str | None = None
    after_digest: str | None = None
    before_deterministic: bool | None = None
    after_deterministic: bool | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        if out["max_abs_diff"] is not None and not math.isfinite(out["max_abs_diff"]):
            out["max_abs_diff"] = None
        return out


class _Mismatch(Exception):
    pass


def _float_dtype(torch: Any, t: Any) -> Any:
    return torch.complex128 if t.is_complex() else torch.float64


def compare_values(before: Any, after: Any, rtol: float | None, atol: float | None) -> tuple[bool, float, str]:
    """Compare two output trees. ``rtol``/``atol`` None means exact equality.

    Numbers agree when ``|after - before| <= atol + rtol * |before|`` (numpy's allclose, with
    "before" the reference). Returns ``(agree, max_abs_diff, message)``; the message names the
    first place they differ.
    """
    state = {"max": 0.0, "first": ""}
    exact = rtol is None and atol is None
    r = 0.0 if rtol is None else float(rtol)
    a = 0.0 if atol is None else float(atol)

    def note(where: str, what: str) -> None:
        if not state["first"]:
            state["first"] = f"{where or 'output'}: {what}"

    def walk(x: Any, y: Any, where: str) -> bool:
        if _is_tensor(x) or _is_tensor(y):
            if not (_is_tensor(x) and _is_tensor(y)):
                note(where, f"{type(x).__name__} vs {type(y).__name__}")
                return False
            torch = sys.modules["torch"]
            if tuple(x.shape) != tuple(y.shape):
                note(where, f"shape {list(x.shape)} vs {list(y.shape)}")
                return False
            if x.dtype != y.dtype and exact:
                note(where, f"dtype {x.dtype} vs {y.dtype}")
                return False
            if x.numel() == 0:
                return True
            numeric = x.is_floating_point() or x.is_complex() or y.is_floating_point() or y.is_complex()
            if numeric:
                xx = x.to(_float_dtype(torch, x if x.is_complex() else y))
                yy = y.to(xx.dtype)
                diff = (yy - xx).abs()
                finite = torch.isfinite(diff)
                if bool(finite.any()):
                    state["max"] = max(state["max"], float(diff[finite].max()))
                # rtol = atol = 0 in exact mode: equality, NaN matching NaN
                ok = bool(torch.isclose(yy, xx, rtol=r, atol=a, equal_nan=True).all())
            else:
                diff = (y.to(torch.int64) - x.to(torch.int64)).abs() if x.dtype != torch.bool else (x != y).to(torch.int64)
                state["max"] = max(state["max"], float(diff.max()))
                ok = bool(torch.equal(x, y.to(x.dtype)))
                if not ok and not exact:
                    ok = bool(torch.isclose(y.to(torch.float64), x.to(torch.float64), rtol=r, atol=a).all())
            if not ok:
                note(where, f"values differ (max |diff| {state['max']:.3g})")
            return ok
        if _is_ndarray(x) or _is_ndarray(y):
            np = sys.modules["numpy"]
            xa, ya = np.asarray(x), np.asarray(y)
            if xa.shape != ya.shape:
                note(where, f"shape {list(xa.shape)} vs {list(ya.shape)}")
                return False
            if xa.dtype != ya.dtype and exact:
                note(where, f"dtype {xa.dtype} vs {ya.dtype}")
                return False
            if xa.size == 0:
                return True
            if xa.dtype.kind in "biufc" and ya.dtype.kind in "biufc":
                with np.errstate(all="ignore"):
                    diff = np.abs(ya.astype(np.complex128 if "c" in (xa.dtype.kind + ya.dtype.kind) else np.float64)
                                  - xa.astype(np.complex128 if "c" in (xa.dtype.kind + ya.dtype.kind) else np.float64))
                finite = diff[np.isfinite(diff)]
                if finite.size:
                    state["max"] = max(state["max"], float(finite.max()))
                ok = bool(np.allclose(ya, xa, rtol=r, atol=a, equal_nan=True))  # r = a = 0: exact
            else:
                ok = bool(np.array_equal(xa, ya))
            if not ok:
                note(where, f"values differ (max |diff| {state['max']:.3g})")
            return ok
        if isinstance(x, dict) or isinstance(y, dict):
            if not (isinstance(x, dict) and isinstance(y, dict)) or set(x) != set(y):
                note(where, "different keys" if isinstance(x, dict) and isinstance(y, dict) else f"{type(x).__name__} vs {type(y).__name__}")
                return False
            results = [walk(x[k], y[k], f"{where}[{k!r}]") for k in x]
            return all(results)
        if isinstance(x, (list, tuple)) or isinstance(y, (list, tuple)):
            if not (isinstance(x, (list, tuple)) and isinstance(y, (list, tuple))) or len(x) != len(y):
                note(where, f"{type(x).__name__}[{len(x) if hasattr(x, '__len__') else '?'}] vs "
                            f"{type(y).__name__}[{len(y) if hasattr(y, '__len__') else '?'}]")
                return False
            results = [walk(xi, yi, f"{where}[{i}]") for i, (xi, yi) in enumerate(zip(x, y))]
            return all(results)
        if isinstance(x, (int, float, complex)) and isinstance(y, (int, float, complex)) \
                and not isinstance(x, bool) and not isinstance(y, bool):
            if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
                return True
            d = abs(y - x)
            if math.isfinite(d):
                state["max"] = max(state["max"], float(d))
            ok = (x == y) if exact else (d <= a + r * abs(x))
            if not ok:
                note(where, f"{x!r} vs {y!r}")
            return bool(ok)
        ok = type(x) is type(y) and x == y
        if not ok:
            note(where, f"{summarize(x)} vs {summarize(y)}")
        return bool(ok)

    agree = walk(before, after, "")
    return agree, state["max"], ("outputs agree" if agree else state["first"])


def compare_files(before_path: str | Path, after_path: str | Path, tolerance: dict | None) -> tuple[bool | None, float | None, str]:
    """:func:`compare_values` on two saved outputs; ``(None, None, why)`` when they cannot be
    loaded in this process (say torch is missing here)."""
    try:
        before, after = load(before_path), load(after_path)
    except Exception as exc:  # ModuleNotFoundError for torch/numpy, a truncated file...
        return None, None, f"cannot load saved outputs here: {type(exc).__name__}: {exc}"
    rtol = atol = None
    if tolerance:
        rtol = float(tolerance.get("rtol", 0.0))
        atol = float(tolerance.get("atol", 0.0))
    return compare_values(before, after, rtol, atol)
