"""PyTorch's CPU random numbers, bit for bit (`torch.random`, `torch.Generator`, the random factories).

The stream is PyTorch's CPUGeneratorImpl: an mt19937 seeded with init_genrand on the low 32 bits of
the seed (NumPy's MT19937 bit generator runs it, from a key built here the way PyTorch builds it),
`random()` = one 32-bit word, `random64()` = two words, the first the high half. On top of it, the
transforms of ATen's TransformationHelper.h and cpu/DistributionTemplates.h, one draw per element
in row-major order, exactly as PyTorch consumes the stream:

    uniform float32   (w32 & (2^24 - 1)) * 2^-24, then u * (to - from) + from in float32
    uniform float64   (w64 & (2^53 - 1)) * 2^-53, then u * (to - from) + from in float64
    randint           w % (high - low) + low, w = w64 if high - low >= 2^32 else w32
    bernoulli(p)      u < p (u 53-bit for a float p or float64 probabilities, else 24-bit float32)
    exponential       -1 / lambda * log1p(-u), u 53-bit
    randperm(n)       r = arange(n); for i < n - 1: swap r[i], r[i + w32 % (n - i)]; from n = 2^32 / 20 on
                      the inside-out shuffle: for i < n: z = w64 % (i + 1); r[i] = r[z]; r[z] = i
    multinomial       without replacement: argmax / top-k of p / Exp(1) draws (the Gumbel trick);
                      with replacement: a 53-bit u per sample, first bucket of the normalised
                      cumulative sum with cum >= u (the last bucket set to exactly 1)
    normal, n >= 16   uniforms for all n (float32: 24-bit, float64: 53-bit), Box-Muller on blocks
                      of 16: u1 = 1 - u[j], u2 = u[j + 8], j < 8, x[j] = r cos(theta),
                      x[j + 8] = r sin(theta), r = sqrt(-2 log u1), theta = 2 pi u2; when 16 does
                      not divide n, 16 fresh uniforms redo the last 16 elements
    normal, n < 16    pairs of 53-bit uniforms u1, u2: r = sqrt(-2 log1p(-u2)), theta = 2 pi u1,
                      x = r cos(theta), and r sin(theta) is kept in the generator for the next draw

Uniform-based draws are bit-identical to torch 2.13 on the CPU. Normal draws consume exactly
PyTorch's stream (so every later draw is bit-identical) and agree to a few ulp: PyTorch evaluates
log, sin and cos with its own vectorised kernels, which NumPy cannot reproduce bit for bit.
`bernoulli_(float p)` and dropout masks match where PyTorch uses its own generator for them (AMD
CPUs); on Intel CPUs PyTorch draws them from MKL's generator, seeded from this stream.
"""
import math
import numbers
import os

import numpy as np

from .device import check_device
from .dtypes import _default_dtype, as_dtype, float16, float32, float64, int64
from .tensor import Tensor, _factory, _factory_size, _size

DEFAULT_SEED = 67280421310721  # PyTorch's default CPU seed
_MASK_32 = 0xFFFFFFFF
_STATE_WORDS = 624
# PyTorch's CPUGeneratorImplState byte for byte (little-endian, the C struct's padding as zeros), so that a
# state moves between torch.get_rng_state() and retrograd.set_rng_state() both ways. mt19937's `left` and
# `next` count down to and up from its next twist; NumPy's MT19937 keeps one position, pos = 625 - left.
_STATE_LAYOUT = np.dtype([
    ("initial_seed", "<u8"), ("left", "<i4"), ("seeded", "<i4"), ("next", "<u8"), ("state", "<u8", (_STATE_WORDS,)),
    ("normal_x", "<f8"), ("normal_y", "<f8"), ("normal_rho", "<f8"), ("normal_is_valid", "<i4"), ("pad", "<i4"),
    ("float_normal", "<f4"), ("float_normal_is_valid", "u1"), ("float_pad", "u1", (3,))])
_STATE_BYTES = _STATE_LAYOUT.itemsize  # 5056, as torch.get_rng_state()


def _init_genrand_key(seed):
    """mt19937's init_genrand on the low 32 bits of the seed (PyTorch's mt19937 constructor)."""
    key = np.empty(_STATE_WORDS, dtype=np.uint32)
    word = seed & _MASK_32
    key[0] = word
    for j in range(1, _STATE_WORDS):
        word = (1812433253 * (word ^ (word >> 30)) + j) & _MASK_32
        key[j] = word
    return key


class Generator:
    """PyTorch's CPU generator: `manual_seed`, `seed`, `initial_seed`, `get_state`/`set_state`, accepted as
    `generator=` wherever retrograd draws random numbers."""

    def __init__(self, device="cpu"):
        check_device(device, "Generator")
        self._bits = np.random.MT19937(0)
        self.manual_seed(DEFAULT_SEED)

    @property
    def device(self):
        return "cpu"

    def manual_seed(self, seed):
        if not isinstance(seed, numbers.Integral) or not -2**63 <= seed < 2**64:
            raise RuntimeError(f"manual_seed: seed must be an integer in [-2^63, 2^64), got {seed!r}")
        self._initial_seed = int(seed) % 2**64
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": _init_genrand_key(self._initial_seed), "pos": _STATE_WORDS}}
        self._next_normal = None  # the r sin(theta) half of the last scalar Box-Muller pair
        self._next_float_normal = None  # PyTorch's float cache: never filled here, kept through set/get_state
        self._fresh = True  # seeded and not drawn from: PyTorch's state says next=0 (not 624) until the first twist
        return self

    def seed(self):
        """Seed from the operating system and return the seed (PyTorch's non-deterministic seed)."""
        seed = int.from_bytes(os.urandom(8), "little") >> 1
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._initial_seed

    def get_state(self):
        """The whole state as a uint8 tensor of 5056 bytes, PyTorch's CPUGeneratorImplState: the bytes
        torch.get_rng_state() gives at the same point of the same stream."""
        state = self._bits.state["state"]
        record = np.zeros((), dtype=_STATE_LAYOUT)
        record["initial_seed"], record["seeded"] = self._initial_seed, 1
        record["left"], record["next"] = _STATE_WORDS + 1 - state["pos"], 0 if self._fresh else state["pos"]
        record["state"] = state["key"]
        if self._next_normal is not None:
            record["normal_y"], record["normal_is_valid"] = self._next_normal, 1
        if self._next_float_normal is not None:
            record["float_normal"], record["float_normal_is_valid"] = self._next_float_normal, 1
        return Tensor._from_array(np.frombuffer(record.tobytes(), dtype=np.uint8).copy())

    def set_state(self, new_state):
        """Continue from a state of get_state() or torch.get_rng_state() (checked before anything changes)."""
        data = np.asarray(new_state.array if isinstance(new_state, Tensor) else new_state)
        if data.dtype != np.uint8 or data.shape != (_STATE_BYTES,):
            raise RuntimeError(f"Generator.set_state: expected a uint8 tensor of {_STATE_BYTES} bytes (PyTorch's "
                               f"CPUGeneratorImplState, from get_state() or torch.get_rng_state()), got dtype "
                               f"{data.dtype} and shape {tuple(data.shape)}")
        record = np.frombuffer(data.tobytes(), dtype=_STATE_LAYOUT)[0]
        left, next_word = int(record["left"]), int(record["next"])
        if not (record["seeded"] and 0 < left <= _STATE_WORDS and next_word <= _STATE_WORDS):
            raise RuntimeError(f"Invalid mt19937 state (Generator.set_state: left={left} must lie in [1, "
                               f"{_STATE_WORDS}], next={next_word} in [0, {_STATE_WORDS}], seeded must be set)")
        if left != 1 and next_word != _STATE_WORDS + 1 - left:  # PyTorch's generator never passes through these
            raise RuntimeError(f"Generator.set_state: next={next_word} with left={left} is not a state mt19937 "
                               f"reaches (next must be {_STATE_WORDS + 1 - left})")
        key = (record["state"] & np.uint64(_MASK_32)).astype(np.uint32)
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": _STATE_WORDS + 1 - left}}
        self._initial_seed, self._fresh = int(record["initial_seed"]), left == 1 and next_word == 0
        self._next_normal = float(record["normal_y"]) if record["normal_is_valid"] else None
        self._next_float_normal = float(record["float_normal"]) if record["float_normal_is_valid"] else None
        return self

    # ----- the raw stream and PyTorch's transforms, on arrays -----------------------------------
    def random32(self, n):
        """n words of PyTorch's `random()`, as uint64."""
        self._fresh = self._fresh and int(n) == 0
        return self._bits.random_raw(int(n)).astype(np.uint64, copy=False)  # NumPy gives uint64 words already

    def random64(self, n):
        """n values of PyTorch's `random64()`: two words each, the first the high half."""
        words = self.random32(2 * int(n))
        return (words[0::2] << np.uint64(32)) | words[1::2]

    def uniform(self, shape, dtype, low=0.0, high=1.0):
        """uniform_real_distribution: 24 bits for float32 (11 for float16), 53 for float64, in [low, high)."""
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        if dtype == float64:
            unit = (self.random64(count) & np.uint64(2**53 - 1)).astype(np.float64) * 2.0**-53
        else:
            digits = 11 if dtype == float16 else 24
            unit = ((self.random32(count) & np.uint64(2**digits - 1)).astype(np.float32)
                    * np.float32(2.0**-digits))
        low, high = unit.dtype.type(dtype.type(low)), unit.dtype.type(dtype.type(high))
        if low == 0 and high == 1:  # u * 1 + 0 is u exactly (u >= +0): the FMA's emulation below is 4x the draw
            return unit.astype(dtype, copy=False).reshape(shape)
        return _fused_multiply_add(unit, high - low, low).astype(dtype).reshape(shape)

    def random(self, shape=()):
        """float64 uniforms in [0, 1) (NumPy's name), for retrograd's own draws such as random ties."""
        return self.uniform(shape, float64)

    def integers_from_to(self, shape, low, high):
        """randint's transform: w % (high - low) + low (w64 when the range needs more than 32 bits)."""
        span, count = int(high) - int(low), int(np.prod(shape))
        words = self.random64(count) if span >= 2**32 else self.random32(count)
        return ((words % np.uint64(span)).astype(np.int64) + int(low)).reshape(shape)

    def permutation(self, n):
        """randperm's algorithm for n < 2^32 / 20 (PyTorch's "small n" path): a forward Fisher-Yates
        swap with z = w32 % (n - i); the swaps depend on each other, so they run in a loop. From
        2^32 / 20 on, PyTorch's inside-out shuffle (`inside_out_places`)."""
        n = int(n)
        if n >= _MASK_32 // 20:
            steps = np.arange(1, n + 1, dtype=np.uint64)
            draws = np.empty(n, dtype=np.int32 if n < 2**31 else np.int64)  # positions: half the memory
            for start in range(0, n, 1 << 22):  # chunks keep the 64-bit words' memory small
                stop = min(n, start + (1 << 22))
                draws[start:stop] = self.random64(stop - start) % steps[start:stop]
            del steps
            order = np.empty(n, dtype=np.int64)
            order[inside_out_places(draws)] = np.arange(n, dtype=np.int64)
            return order
        order = np.arange(n, dtype=np.int64)
        if n < 2:
            return order
        offsets = (self.random32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        items = order.tolist()
        for i, z in enumerate(offsets):
            items[i], items[i + z] = items[i + z], items[i]
        return np.array(items, dtype=np.int64)

    def normal(self, shape, dtype, mean=0.0, std=1.0):
        """normal_'s kernel: Box-Muller in blocks of 16 for 16 or more elements, pairs below."""
        dtype, count = np.dtype(dtype), int(np.prod(shape))
        if count >= 16:
            return _box_muller_blocks(self, count, dtype, mean, std).reshape(shape)
        return _fused_multiply_add(self._scalar_normals(count), std, mean).astype(dtype).reshape(shape)

    def _scalar_normals(self, count):
        values = []
        if count and self._next_normal is not None:
            values, self._next_normal = [self._next_normal], None
        pairs = -(-(count - len(values)) // 2)
        u = self.uniform((pairs, 2), float64)
        radius = np.sqrt(-2.0 * _libm(math.log1p, -u[:, 1]))
        theta = 2.0 * np.pi * u[:, 0]
        drawn = np.stack([radius * _libm(math.cos, theta), radius * _libm(math.sin, theta)], axis=1).ravel()
        if (count - len(values)) % 2:
            self._next_normal, drawn = float(drawn[-1]), drawn[:-1]
        return np.concatenate([np.asarray(values, dtype=np.float64), drawn])


def inside_out_places(draws):
    """Where the inside-out Fisher-Yates shuffle puts each value: PyTorch's randperm for large n runs
        for i < n: z = draws[i] (= w64 % (i + 1)); r[i] = r[z]; r[z] = i
    Here without a loop: value i lands at position z_i at step i and moves only when a later step k draws
    its position (to position k, at step k), so its last place is at the end of a chain of links "the first
    later step that draws this position", followed for every value at once by pointer jumping."""
    n, index = draws.size, draws.dtype
    by_position = np.argsort(draws, kind="stable").astype(index)  # steps grouped by the position they draw
    sorted_draws = draws[by_position]
    same_as_next = sorted_draws[1:] == sorted_draws[:-1]
    next_same = np.full(n, -1, dtype=index)  # the next step drawing the same position, or -1
    next_same[by_position[:-1][same_as_next]] = by_position[1:][same_as_next]
    del same_as_next
    starts = np.ones(n, dtype=bool)
    starts[1:] = sorted_draws[1:] != sorted_draws[:-1]
    first_steps, positions = by_position[starts], sorted_draws[starts]
    del by_position, sorted_draws, starts
    chain_end = np.arange(n, dtype=index)  # a position's first later step to draw it (k > p), else itself
    taken = np.where(first_steps > positions, first_steps, next_same[first_steps])
    chain_end[positions[taken >= 0]] = taken[taken >= 0]
    del first_steps, positions, taken
    while True:  # each round doubles the links followed
        jumped = chain_end[chain_end]
        if np.array_equal(jumped, chain_end):
            break
        chain_end = jumped
    moved = next_same >= 0
    places = draws.copy()
    places[moved] = chain_end[next_same[moved]]
    return places


def _fused_multiply_add(a, b, c):
    """a * b + c rounded once, as PyTorch's compiled kernel computes u * (to - from) + from (an FMA).
    float32: the product is exact in float64. float64: Dekker's exact product and a two-sum (Knuth),
    exact but for a tie in the final rounding (probability ~2^-50)."""
    if a.dtype == np.float32:
        return a.astype(np.float64) * np.float64(b) + np.float64(c)
    product, product_error = _two_product(a, np.float64(b))
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (sum_error + product_error)


def _two_product(a, b):
    """p, e with a * b = p + e exactly (Veltkamp's split into 26-bit halves)."""
    def split(x):
        scaled = 134217729.0 * x  # 2^27 + 1
        high = scaled - (scaled - x)
        return high, x - high
    product = a * b
    (a_high, a_low), (b_high, b_low) = split(a), split(b)
    return product, ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low


def _libm(function, values):
    """The C library's function element by element: PyTorch's scalar kernels call it, while NumPy's own SIMD
    log1p/sin/cos can differ from it in the last bit (a loop, so used only where bits must match)."""
    return np.fromiter(map(function, values.ravel().tolist()), dtype=np.float64, count=values.size).reshape(values.shape)


def _box_muller_blocks(generator, count, dtype, mean, std):
    """normal_fill: uniforms for every element, then Box-Muller on each block of 16 (u1 = 1 - u[:8],
    u2 = u[8:]); a tail shorter than 16 is redone with 16 fresh uniforms over the last 16 elements."""
    work = np.float32 if dtype != float64 else np.float64
    values = generator.uniform((count,), work)
    blocks = count // 16
    out = np.empty(count, dtype=np.float64)
    out[:blocks * 16] = _box_muller_16(values[:blocks * 16].reshape(blocks, 2, 8), work, mean, std).ravel()
    if count % 16:
        out[-16:] = _box_muller_16(generator.uniform((1, 2, 8), work), work, mean, std).ravel()
    return out.astype(dtype)


def _box_muller_16(u, work, mean, std):
    """(blocks, 2, 8) uniforms -> (blocks, 2, 8) normals, every step in the uniforms' dtype as PyTorch's
    vectorised kernel computes it (float32: theta = float32(2 pi) * u2), then x * std + mean rounded once."""
    radius = np.sqrt(work(-2) * np.log(work(1) - u[:, 0]))
    theta = work(2 * np.pi) * u[:, 1]
    normals = np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    return _fused_multiply_add(normals, work(std), work(mean))


default_generator = Generator()


def _generator(generator):
    if generator is None:
        return default_generator
    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a retrograd.Generator, got {type(generator).__name__}")
    return generator


def manual_seed(seed):
    """Seed retrograd's default generator (randn, rand, init, dropout, shuffling, ties='random')."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)


# ----- the random factories, with PyTorch's overloads ---------------------------------------------
def _checked_options(name, device, layout):
    check_device(device, name)
    if layout is not None and str(layout) not in ("strided", "torch.strided"):
        raise RuntimeError(f"{name}: retrograd has only the strided layout, got layout={layout!r}")


def randn(*size, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
          **size_kw):
    """Standard normal draws: randn(2, 3), randn((2, 3)), randn(size=(2, 3))."""
    _checked_options("randn", device, layout)
    shape = _factory_size("randn", size, size_kw)
    dtype = as_dtype(dtype) or _default_dtype[0]
    return _factory(_generator(generator).normal(shape, dtype), requires_grad)


def rand(*size, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
         **size_kw):
    """Uniform draws in [0, 1): rand(2, 3), rand((2, 3)), rand(size=(2, 3))."""
    _checked_options("rand", device, layout)
    shape = _factory_size("rand", size, size_kw)
    dtype = as_dtype(dtype) or _default_dtype[0]
    return _factory(_generator(generator).uniform(shape, dtype), requires_grad)


def randint(*args, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False,
            **bounds):
    """PyTorch's overloads: randint(high, size), randint(low, high, size), with low/high/size as keywords too."""
    _checked_options("randint", device, layout)
    size = bounds.pop("size", args[-1] if args else None)
    if "size" not in bounds and args and size is args[-1] and isinstance(size, (tuple, list)):
        args = args[:-1]
    named = dict(zip(("high",) if len(args) == 1 else ("low", "high"), args))
    named.update(bounds)
    unknown = set(named) - {"low", "high"}
    if unknown or "high" not in named or size is None or len(args) > 2 or not isinstance(size, (tuple, list)):
        raise TypeError(f"randint() received an invalid combination of arguments: got {args} and "
                        f"{sorted(bounds)}; expected randint(high, size) or randint(low, high, size) with size "
                        f"a tuple of ints")
    low, high = named.get("low", 0), named["high"]
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    values = _generator(generator).integers_from_to(_size((tuple(size),)), low, high)
    return _factory(values.astype(as_dtype(dtype) or int64), requires_grad)


def randperm(n, *, generator=None, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    _checked_options("randperm", device, layout)
    if not isinstance(n, numbers.Integral) or n < 0:
        raise RuntimeError(f"randperm: n must be a non-negative integer, got {n!r}")
    return _factory(_generator(generator).permutation(n).astype(as_dtype(dtype) or int64), requires_grad)


def randn_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
               generator=None):
    return randn(*input.shape, dtype=dtype or input.dtype, layout=layout, device=device,
                 requires_grad=requires_grad, generator=generator)


def rand_like(input, *, dtype=None, layout=None, device=None, requires_grad=False, memory_format=None,
              generator=None):
    return rand(*input.shape, dtype=dtype or input.dtype, layout=layout, device=device,
                requires_grad=requires_grad, generator=generator)


def randint_like(input, low=0, high=None, *, dtype=None, layout=None, device=None, requires_grad=False,
                 memory_format=None, generator=None):
    if high is None:
        low, high = 0, low
    return randint(low, high, tuple(input.shape), dtype=dtype or input.dtype, layout=layout, device=device,
                   requires_grad=requires_grad, generator=generator)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, dtype=None, layout=None, device=None,
           requires_grad=False, pin_memory=False):
    """normal(mean, std, size) with floats; normal(Tensor mean, Tensor std), normal(Tensor, float),
    normal(float, Tensor): standard draws of the broadcast shape, then x * std + mean (PyTorch's order)."""
    _checked_options("normal", device, layout)
    generator = _generator(generator)
    if not isinstance(mean, Tensor) and not isinstance(std, Tensor):
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments: with float mean and std, "
                            "size is required")
        _check_std("normal", std)
        shape = _size((tuple(size),))
        return _factory(generator.normal(shape, as_dtype(dtype) or _default_dtype[0], mean, std), requires_grad)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    result_dtype = np.result_type(*[t.dtype for t in tensors])
    if result_dtype.kind != "f":
        raise RuntimeError(f"normal expects floating-point mean and std, got {result_dtype}")
    std_array = std.array if isinstance(std, Tensor) else std
    _check_std("normal", std_array)
    shape = np.broadcast_shapes(*[t.shape for t in tensors])
    if isinstance(std, Tensor):
        draws = generator.normal(shape, result_dtype)
        values = draws * std_array.astype(result_dtype) + np.asarray(mean.array if isinstance(mean, Tensor)
                                                                     else mean, dtype=result_dtype)
    else:
        values = generator.normal(shape, result_dtype, 0.0, std) + mean.array.astype(result_dtype)
    return _factory(np.asarray(values, dtype=result_dtype), requires_grad)


def _check_std(name, std):
    if np.any(np.asarray(std) < 0):
        raise RuntimeError(f"{name} expects std >= 0.0, but found std {np.min(std)}")


# ----- bernoulli, multinomial, exponential (the kernels behind the ops and the Tensor methods) -----
def bernoulli_draws(probabilities, shape, generator=None):
    """u < p per element, p broadcast to `shape`: a float p or float64 probabilities compare a 53-bit
    float64 u, float32 (or float16) probabilities a 24-bit float32 u (PyTorch's bernoulli kernels).
    `probabilities` is a number (a float p) or an array (a tensor's, 0-d included: its dtype decides)."""
    is_number = not isinstance(probabilities, np.ndarray)
    p = np.asarray(probabilities)
    if np.any((p < 0) | (p > 1)) or np.any(np.isnan(p)):
        if is_number:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={float(p)}")
        raise RuntimeError("bernoulli: Expected p_in >= 0 && p_in <= 1 to be true, but got false. "
                           f"(all probabilities must lie in [0, 1]; got min {p.min()}, max {p.max()})")
    unit_dtype = float64 if is_number or p.dtype == float64 else float32
    uniform = _generator(generator).uniform(shape, unit_dtype)
    return uniform < np.broadcast_to(p.astype(unit_dtype), shape)


def exponential_draws(shape, dtype, lambd=1.0, generator=None):
    """-1 / lambda * log1p(-u), u a 53-bit float64 (PyTorch's CPU exponential kernel)."""
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    uniform = _generator(generator).uniform(shape, float64)
    return (-1.0 / lambd * _libm(math.log1p, -uniform)).astype(dtype)


def multinomial(input, num_samples, replacement=False, *, generator=None):
    """Indices drawn from the rows of `input` (non-negative weights, any sum): PyTorch's algorithms
    (see the module docstring); int64 of shape (num_samples,) or (rows, num_samples)."""
    probabilities = input.array if isinstance(input, Tensor) else np.asarray(input)
    _check_multinomial(probabilities, num_samples, replacement)
    rows = probabilities.reshape(-1, probabilities.shape[-1])
    if not replacement or num_samples == 1:
        keys = rows / exponential_draws(rows.shape, rows.dtype, 1.0, generator)
        picked = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    else:
        cumulative = np.cumsum(rows, axis=-1, dtype=rows.dtype)
        cumulative /= cumulative[:, -1:]
        cumulative[:, -1] = 1
        uniform = _generator(generator).uniform((rows.shape[0], num_samples), float64)
        picked = np.stack([np.searchsorted(row.astype(np.float64), u, side="left")
                           for row, u in zip(cumulative, uniform)])
    shape = probabilities.shape[:-1] + (num_samples,)
    return Tensor._from_array(picked.astype(np.int64).reshape(shape))


def _check_multinomial(probabilities, num_samples, replacement):
    if probabilities.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got {probabilities.ndim} dims")
    if probabilities.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {probabilities.dtype}")
    if not isinstance(num_samples, numbers.Integral) or num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (got num_samples={num_samples})")
    categories = probabilities.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError(f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without "
                           f"replacement (got n_sample={num_samples}, prob_dist.size(-1)={categories})")
    if not np.all(np.isfinite(probabilities)) or np.any(probabilities < 0):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if probabilities.size == 0 or np.any(probabilities.reshape(-1, categories).sum(-1) <= 0):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")


def bernoulli(input, p=None, *, generator=None):
    """bernoulli(probabilities) -> 0/1 draws of the same shape and dtype; bernoulli(input, p) draws with
    the float p in input's shape."""
    probabilities = input.array if isinstance(input, Tensor) else np.asarray(input)
    if probabilities.dtype.kind != "f":
        raise RuntimeError(f"bernoulli: expected a floating-point tensor of probabilities, got {probabilities.dtype}")
    source = probabilities if p is None else float(p)
    draws = bernoulli_draws(source, probabilities.shape, generator)
    return Tensor._from_array(draws.astype(probabilities.dtype))
