"""Loop templates for :mod:`fastrelu.training` (fused ops on 2-D row views).

Every template is a plain module-level function.  Its per-kernel parts are
globals that :func:`get` binds with :func:`fastrelu._build.cacheable` (the
mechanism of the float16 and run loops of :mod:`fastrelu._build`), so each
bound copy is an ordinary function that Numba caches on disk; it is compiled
serial or ``parallel=True`` (``prange`` is ``range`` in the serial copy):

* ``_a`` -- the table kernel applied to one element with its parameters
  (:func:`_act0` / :func:`_act1` / :func:`_act2`, by the kernel's number of
  parameters: the only place that depends on it);
* ``_bits`` / ``_ap`` -- the 8-lane mask intrinsics below (predicate of the
  mask forward, select or slope of the mask backward);
* ``_k`` -- a table gradient kernel (prelu's ``dx``).

Layout (shared by every template)
---------------------------------
``x`` is a C-contiguous ``(R, F)`` view: ``F`` is the last axis of the user's
array, ``R`` the product of the others.

* *Work units* (:func:`_units`): blocks of whole rows of about :data:`CHUNK`
  elements when ``F < CHUNK``, byte-aligned column chunks of one row
  otherwise, so short wide and tall narrow arrays both spread over threads.
* *Row classes*: row ``i`` belongs to class ``(i // inner) % C``
  (:func:`_cls`).  For an N-D array ``(N, C, *S, W)`` with ``inner =
  prod(S)`` the class is the channel (axis 1); ``C = 1`` gives one class.
* *Per-column blocks* ``P`` (parameters, ``(nparams, Kp, F)``) and ``cnt`` /
  ``part`` (accumulators, ``(nb, Kc, F)``) have ``K = 1`` (the same row for
  every row: per feature, or a scalar broadcast) or ``K = C`` (one row per
  class: a per-channel weight broadcast along ``F``; counts / partial sums
  per channel and column, summed over ``F`` by the caller).  So per-feature
  and per-channel parameters and counts are the same code: an inner loop over
  contiguous columns, which LLVM vectorises.
* Accumulating templates run ``nb`` *blocks* of consecutive units (``prange``
  over blocks) with one accumulator row per block; the caller sums blocks in
  a fixed order, so results never depend on the thread count.

Inner loops run over row slices from index 0 (``xr = x[i, c0:c1]``): with a
loop start Numba cannot prove non-negative, its negative-index wraparound
code stops LLVM from vectorising (measured 4x slower).
"""

from __future__ import annotations

import functools
import inspect

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic, register_jitable

from fastrelu import _kernels as K
from fastrelu import _parallel  # noqa: F401  (preloads TBB: the layer is chosen before any parallel kernel runs)
from fastrelu._build import TARGET_OPTIONS, _sfence, cacheable, inline_kernel, nontemporal, quiet_inlining

__all__ = ["CHUNK", "get", "mix64", "uniform"]

#: elements per work unit (a multiple of 8: column chunks stay byte-aligned)
CHUNK = 4096
_CACHE = True


@register_jitable(inline="always")
def _units(R, F):
    """(rows per unit, column chunks per row, number of units)."""
    if F >= CHUNK:
        rb = 1
        nc = (F + CHUNK - 1) // CHUNK
    else:
        rb = max(1, CHUNK // max(F, 1))
        nc = 1
    return rb, nc, ((R + rb - 1) // rb) * nc


@register_jitable(inline="always")
def _bounds(u, rb, nc, R, F):
    r0 = (u // nc) * rb
    r1 = min(r0 + rb, R)
    c0 = (u % nc) * CHUNK
    c1 = min(c0 + CHUNK, F)
    return r0, r1, c0, c1


@register_jitable(inline="always")
def _cls(i, inner, C):
    """Class (channel) of row *i*; 0 when there is one class."""
    return (i // inner) % C if C > 1 else 0


# --------------------------------------------------------------------------
# the kernel on one element, 0/1/2 per-column parameters (p0, p1: the
# unit's slices of the parameter rows; p1 is p0 for fewer than 2 parameters)
# --------------------------------------------------------------------------


def _act0(v, p0, p1, j):
    return _k(v)  # noqa: F821 (bound per kernel)


def _act1(v, p0, p1, j):
    return _k(v, p0[j])  # noqa: F821


def _act2(v, p0, p1, j):
    return _k(v, p0[j], p1[j])  # noqa: F821


_ACT = {0: _act0, 1: _act1, 2: _act2}


# --------------------------------------------------------------------------
# 8 lanes at a time: LLVM IR for the bit-packed masks
#
# A mask byte holds the predicate of 8 consecutive elements, bit t for
# element t (np.packbits(..., bitorder="little")).  Written as Python loops
# (a scratch row of predicate bytes, or ``(byte >> t) & 1`` per element),
# LLVM either left the packing scalar or shuffled heavily: the mask forward
# cost 1.8-2x the forward and the mask backward was 10x slower in place
# (``out`` and ``g`` alias, so the vectoriser's run-time alias check fails).
# These intrinsics state the vector operation directly: an 8-lane compare
# whose ``<8 x i1>`` result is bitcast to the byte (one ``vmovmskps`` on x86),
# and the reverse bitcast of a byte (or two: 16 lanes) to a lane mask.  Each
# call loads all its lanes before it stores, so ``out`` may be ``g``.  Arrays
# must be 1-D C-contiguous with 8 (16) elements from ``j`` (tails go through
# a scratch).
# --------------------------------------------------------------------------


def _lanes(context, builder, aty, arr, j, n: int = 8):
    """Pointer to the *n* elements ``arr[j:j+n]`` as ``<n x T>*``."""
    a = context.make_array(aty)(context, builder, arr)
    elt = context.get_data_type(aty.dtype)
    return builder.bitcast(builder.gep(a.data, [j]), ir.VectorType(elt, n).as_pointer())


def _load(builder, ptr, aty):
    return builder.load(ptr, align=aty.dtype.bitwidth // 8)


def _splat(builder, val):
    vec = ir.Constant(ir.VectorType(val.type, 8), ir.Undefined)
    for t in range(8):
        vec = builder.insert_element(vec, val, ir.Constant(ir.IntType(32), t))
    return vec


def _is_row(*tys) -> bool:
    return all(
        isinstance(t, types.Array) and t.ndim == 1 and t.layout == "C" and isinstance(t.dtype, types.Float)
        for t in tys
    )


def _bits8_intrinsic(opened: bool):
    # opened: lo < v < hi with NaN counted in (relu, relu6, hardtanh: the
    # x-reading gradients pass g at NaN); else v > lo, NaN out (leaky, prelu)
    def bits8(typingctx, x, b, j, lo, hi):
        """Byte of the predicate of ``v = x[j:j+8] + b[j:j+8]``."""
        if not _is_row(x, b) or x.dtype != b.dtype:
            return None

        def codegen(context, builder, sig, args):
            tx, tb, _, tlo, thi = sig.args
            v = builder.fadd(
                _load(builder, _lanes(context, builder, tx, args[0], args[2]), tx),
                _load(builder, _lanes(context, builder, tb, args[1], args[2]), tb),
            )
            lo = _splat(builder, context.cast(builder, args[3], tlo, tx.dtype))
            if opened:
                hi = _splat(builder, context.cast(builder, args[4], thi, tx.dtype))
                c = builder.and_(builder.fcmp_unordered(">", v, lo), builder.fcmp_unordered("<", v, hi))
            else:
                c = builder.fcmp_ordered(">", v, lo)
            return builder.bitcast(c, ir.IntType(8))

        return types.uint8(x, b, j, lo, hi), codegen

    bits8.__name__ = "bits8_open" if opened else "bits8_pos"
    return intrinsic(bits8)


_bits8_open = _bits8_intrinsic(True)
_bits8_pos = _bits8_intrinsic(False)


def _mask_intrinsic(slope: bool, stream: bool = False, n: int = 8):
    # select: out = g where the bit is set, else +0.0 -- as integers (g AND
    # the sign-extended bit), so NaN/inf g gives 0 as PyTorch's select does;
    # slope: out = g where the bit is set, else g * p (leaky, prelu);
    # stream: non-temporal stores where out[j] is 16-byte aligned (a branch
    # that goes the same way all along a row), normal stores elsewhere
    # n = 8: one mask byte; n = 16: two (bits of an integer, byte q + 1 in
    # bits 8-15), twice the work per call (measured 2x faster in place, one
    # thread: the 8-lane loop ran below memory speed)
    def mask8(typingctx, byte, g, out, p, j):
        """``out[j:j+n]`` from ``g[j:j+n]``, the n low bits of *byte* and ``p[j:j+n]``."""
        if not _is_row(g, out, p) or not isinstance(byte, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            _, tg, to, tp, _ = sig.args
            pg = _lanes(context, builder, tg, args[1], args[4], n)
            po = _lanes(context, builder, to, args[2], args[4], n)
            bits = builder.bitcast(builder.trunc(args[0], ir.IntType(n)), ir.VectorType(ir.IntType(1), n))
            gv = _load(builder, pg, tg)
            if slope:
                pv = _load(builder, _lanes(context, builder, tp, args[3], args[4], n), tp)
                res = builder.select(bits, gv, builder.fmul(gv, pv))
            else:
                ivec = ir.VectorType(ir.IntType(tg.dtype.bitwidth), n)
                gi = builder.and_(builder.bitcast(gv, ivec), builder.sext(bits, ivec))
                res = builder.bitcast(gi, gv.type)
            if not stream:
                builder.store(res, po, align=tg.dtype.bitwidth // 8)
                return context.get_dummy_value()
            # 16-byte pieces (SSE's movntps/movntpd need 16-byte alignment, which
            # every NumPy buffer of float32/float64 rows of a multiple of 4
            # elements gives; 32-byte alignment would depend on the allocation)
            size = tg.dtype.bitwidth // 8
            per = 16 // size
            aligned = builder.icmp_unsigned(
                "==",
                builder.and_(builder.ptrtoint(po, ir.IntType(64)), ir.Constant(ir.IntType(64), 15)),
                ir.Constant(ir.IntType(64), 0),
            )
            with builder.if_else(aligned) as (nt, normal):
                with nt:
                    base = builder.bitcast(po, res.type.element.as_pointer())
                    piece = ir.VectorType(res.type.element, per)
                    for k in range(0, n, per):
                        idx = ir.Constant(ir.VectorType(ir.IntType(32), per), list(range(k, k + per)))
                        sub = builder.shuffle_vector(res, ir.Constant(res.type, ir.Undefined), idx)
                        at = builder.gep(base, [ir.Constant(ir.IntType(64), k)])
                        ptr = builder.bitcast(at, piece.as_pointer())
                        nontemporal(builder, builder.store(sub, ptr, align=16))
                with normal:
                    builder.store(res, po, align=size)
            return context.get_dummy_value()

        return types.void(byte, g, out, p, j), codegen

    mask8.__name__ = f"mask{n}_{'slope' if slope else 'select'}{'_st' if stream else ''}"
    return intrinsic(mask8)


@register_jitable(inline="always")
def _nofence():
    pass


#: the per-variant helper of the mask templates (``_st``: streamed output)
_VARIANTS = {
    "open": _bits8_open,
    "pos": _bits8_pos,
    "select": _mask_intrinsic(False),
    "slope": _mask_intrinsic(True),
    "select_st": _mask_intrinsic(False, True),
    "slope_st": _mask_intrinsic(True, True),
}
#: the 16-lane (two mask bytes) helpers of the backward variants
_VARIANTS16 = {
    v: _mask_intrinsic("slope" in v, v.endswith("_st"), 16)
    for v in ("select", "slope", "select_st", "slope_st")
}


# --------------------------------------------------------------------------
# forward (act(x + b); no bias is b = -0.0, an exact identity: -0.0 + -0.0
# = -0.0, 0.0 + -0.0 = 0.0, NaN stays NaN)
# --------------------------------------------------------------------------


def _fwd(x, b, P, inner, C, y):
    R, F = x.shape
    rb, nc, nu = _units(R, F)
    kp = P.shape[1] - 1
    last = P.shape[0] - 1
    for u in prange(nu):
        r0, r1, c0, c1 = _bounds(u, rb, nc, R, F)
        bs = b[c0:c1]
        for i in range(r0, r1):
            k = min(_cls(i, inner, C), kp)
            p0 = P[0, k, c0:c1]
            p1 = P[last, k, c0:c1]
            xr = x[i, c0:c1]
            yr = y[i, c0:c1]
            for j in range(c1 - c0):
                yr[j] = _a(xr[j] + bs[j], p0, p1, j)  # noqa: F821 (bound per kernel)


# --------------------------------------------------------------------------
# forward + activity counts (dying-ReLU diagnostics): cnt[blk, class, col]
# += [x + b > 0] in the forward's own loop.  Counts are integers of the
# element width (int32 for float32: lanes match, the compare's all-ones lane
# is subtracted directly); the caller picks int64 when a block could see
# 2**31 rows.  (A per-row scalar reduction, or a second pass over the row,
# measured slower: the single loop keeps the memory streams going.)
# --------------------------------------------------------------------------


def _fwd_stats(x, b, P, inner, C, y, cnt):
    R, F = x.shape
    rb, nc, nu = _units(R, F)
    nb = cnt.shape[0]
    kp = P.shape[1] - 1
    kc = cnt.shape[1] - 1
    last = P.shape[0] - 1
    for blk in prange(nb):
        for u in range((nu * blk) // nb, (nu * (blk + 1)) // nb):
            r0, r1, c0, c1 = _bounds(u, rb, nc, R, F)
            bs = b[c0:c1]
            for i in range(r0, r1):
                k = _cls(i, inner, C)
                p0 = P[0, min(k, kp), c0:c1]
                p1 = P[last, min(k, kp), c0:c1]
                cr = cnt[blk, min(k, kc), c0:c1]
                xr = x[i, c0:c1]
                yr = y[i, c0:c1]
                for j in range(c1 - c0):
                    v = xr[j] + bs[j]
                    yr[j] = _a(v, p0, p1, j)  # noqa: F821
                    cr[j] += v > 0


# --------------------------------------------------------------------------
# forward + 1-bit mask (np.packbits(..., axis=-1, bitorder="little") layout):
# per row, one mask byte per 8 elements (``_bits``), then the forward loop
# (reading x + b again while the row is in L1).  The mask is taken before the
# row is written, so ``y`` may be ``x`` (in place).  The last byte of a row
# whose length is not a multiple of 8 goes through an 8-element scratch and
# keeps only its valid bits (padding bits are 0).
# --------------------------------------------------------------------------


def _fwd_mask(x, b, P, inner, C, y, m, lo, hi):
    R, F = x.shape
    rb, nc, nu = _units(R, F)
    kp = P.shape[1] - 1
    last = P.shape[0] - 1
    for u in prange(nu):
        r0, r1, c0, c1 = _bounds(u, rb, nc, R, F)
        n = c1 - c0
        full = n // 8
        rest = n - 8 * full
        bs = b[c0:c1]
        s = np.zeros((2, 8), x.dtype)
        s[1, :rest] = bs[8 * full :]
        for i in range(r0, r1):
            k = min(_cls(i, inner, C), kp)
            p0 = P[0, k, c0:c1]
            p1 = P[last, k, c0:c1]
            xr = x[i, c0:c1]
            yr = y[i, c0:c1]
            mr = m[i, c0 // 8 : c0 // 8 + (n + 7) // 8]
            for q in range(full):
                mr[q] = _bits(xr, bs, 8 * q, lo, hi)  # noqa: F821 (bound per predicate)
            if rest:
                s[0, :rest] = xr[8 * full :]
                mr[full] = _bits(s[0], s[1], 0, lo, hi) & ((1 << rest) - 1)  # noqa: F821
            for j in range(n):
                yr[j] = _a(xr[j] + bs[j], p0, p1, j)  # noqa: F821


# --------------------------------------------------------------------------
# backward from the mask: out = g where the bit is set, else 0 (``_ap`` =
# select) or p * g (slope), 16 elements (two mask bytes) per step, an odd
# last byte by 8.  One byte read per 8 elements; out may be g.  Rows are
# taken as ``a[i][c0:c1]`` (a 1-D view of row i, then its slice), the form
# that measured fastest for this loop.
# --------------------------------------------------------------------------


def _bwd_mask(m, g, P, inner, C, out):
    R, F = g.shape
    rb, nc, nu = _units(R, F)
    kp = P.shape[1] - 1
    for u in prange(nu):
        r0, r1, c0, c1 = _bounds(u, rb, nc, R, F)
        n = c1 - c0
        full = n // 8
        rest = n - 8 * full
        s = np.zeros((3, 8), g.dtype)
        for i in range(r0, r1):
            p0 = P[0, min(_cls(i, inner, C), kp)][c0:c1]
            mr = m[i][c0 // 8 : c0 // 8 + (n + 7) // 8]
            gr = g[i][c0:c1]
            orow = out[i][c0:c1]
            for q in range(full // 2):
                w = np.uint32(mr[2 * q]) | (np.uint32(mr[2 * q + 1]) << np.uint32(8))
                _ap16(w, gr, orow, p0, 16 * q)  # noqa: F821 (bound per variant)
            if full & 1:
                _ap(mr[full - 1], gr, orow, p0, 8 * (full - 1))  # noqa: F821 (bound per variant)
            if rest:
                s[0, :rest] = gr[8 * full :]
                s[2, :rest] = p0[8 * full :]
                _ap(mr[full], s[0], s[1], s[2], 0)  # noqa: F821
                orow[8 * full :] = s[1, :rest]
        _fence()  # noqa: F821 (streamed variants: sfence, ordering the stores)


# --------------------------------------------------------------------------
# prelu backward: dx (the table's prelu_grad) and the float64 per-column
# partial sums of dw, part[blk, class, col] += (0 if x > 0 else x * g), in
# one pass.  ``0 if x > 0``, not ``x * g if x <= 0``: a NaN x counts, as
# PyTorch's dw is NaN there.  float32 products are exact in float64.
# --------------------------------------------------------------------------


def _prelu_bwd(x, g, P, inner, C, dx, part):
    R, F = x.shape
    rb, nc, nu = _units(R, F)
    nb = part.shape[0]
    kp = P.shape[1] - 1
    kc = part.shape[1] - 1
    for blk in prange(nb):
        for u in range((nu * blk) // nb, (nu * (blk + 1)) // nb):
            r0, r1, c0, c1 = _bounds(u, rb, nc, R, F)
            for i in range(r0, r1):
                k = _cls(i, inner, C)
                wr = P[0, min(k, kp), c0:c1]
                pr = part[blk, min(k, kc), c0:c1]
                xr = x[i, c0:c1]
                gr = g[i, c0:c1]
                dr = dx[i, c0:c1]
                for j in range(c1 - c0):
                    xv = xr[j]
                    gv = gr[j]
                    dr[j] = _k(xv, gv, wr[j])  # noqa: F821 (bound: the table's prelu_grad)
                    pr[j] += 0.0 if xv > 0 else np.float64(xv) * np.float64(gv)


# --------------------------------------------------------------------------
# rrelu training: counter-based slopes, keyed by (seed, flat index)
# --------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 2.0**-53


@njit(inline="always", cache=_CACHE, **TARGET_OPTIONS)
def mix64(z):
    """splitmix64's finaliser (a bijection of uint64)."""
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(inline="always", cache=_CACHE, **TARGET_OPTIONS)
def uniform(key, idx):
    """U[0, 1) for element *idx*: output number idx + 1 of a splitmix64 stream
    whose state starts at *key* (the mixed seed).  53 random bits."""
    z = mix64(np.uint64(key) + (np.uint64(idx) + np.uint64(1)) * _GOLDEN)
    return np.float64(z >> np.uint64(11)) * _TWO_M53


def _rrelu(x, g, out, lower, upper, key, offset):
    # out = g where x > 0 (NaN included: PyTorch's noise is 1 there), else
    # g * slope.  The forward is g = x; the backward regenerates the slopes.
    n = x.size
    width = upper - lower
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            gv = g[i]
            out[i] = gv * (lower + width * uniform(key, offset + i)) if x[i] <= 0 else gv


def _rrelu_slopes(s, lower, upper, key, offset):
    n = s.size
    width = upper - lower
    for c in prange((n + CHUNK - 1) // CHUNK):
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            s[i] = lower + width * uniform(key, offset + i)


_TEMPLATES = {
    "fwd": _fwd,
    "fwd_stats": _fwd_stats,
    "fwd_mask": _fwd_mask,
    "bwd_mask": _bwd_mask,
    "prelu_bwd": _prelu_bwd,
    "rrelu": _rrelu,
    "rrelu_slopes": _rrelu_slopes,
}


def _nparams(kernel) -> int:
    return len(inspect.signature(kernel).parameters) - 1


@functools.cache
def get(template: str, kernel=None, variant: str | None = None, parallel: bool = False):
    """The compiled loop *template*, bound to *kernel* and *variant*.

    * ``fwd``, ``fwd_stats``, ``fwd_mask``: *kernel* is a forward kernel of
      the table (bound as ``_a`` through the adapter for its number of
      parameters); ``fwd_mask`` takes *variant* ``"open"`` or ``"pos"``;
    * ``bwd_mask``: *variant* ``"select"`` or ``"slope"`` (``"_st"`` appended:
      non-temporal stores, for large fresh outputs);
    * ``prelu_bwd``: the table's ``prelu_grad`` is bound as ``_k``.

    Cached per process (and on disk by Numba): one dispatcher per
    (template, kernel, variant, parallel); dtypes specialise lazily.
    """
    fn = _TEMPLATES[template]
    bind = {}
    name = template
    if kernel is not None:
        k = inline_kernel(kernel)
        act = cacheable(_ACT[_nparams(kernel)], f"act_{kernel.__name__}", _k=k)
        bind["_a"] = njit(forceinline=True, cache=_CACHE, **TARGET_OPTIONS)(act)
        name += "_" + kernel.__name__
    if template == "prelu_bwd":
        bind["_k"] = inline_kernel(K.prelu_grad)
    if variant is not None:
        bind["_bits" if template == "fwd_mask" else "_ap"] = _VARIANTS[variant]
        if template == "bwd_mask":
            bind["_ap16"] = _VARIANTS16[variant]
        bind["_fence"] = _sfence if variant.endswith("_st") else _nofence
        name += "_" + variant
    if parallel:
        name += "_par"
    disp = njit(cache=_CACHE, parallel=parallel, **TARGET_OPTIONS)(cacheable(fn, name, **bind))
    compile_for_args = disp._compile_for_args

    def _compile_quietly(*args, **kws):
        # the dispatcher calls this on a miss: silence Numba's pedantic SSA
        # note about inlined helpers during compilation only
        with quiet_inlining():
            return compile_for_args(*args, **kws)

    disp._compile_for_args = _compile_quietly
    return disp
