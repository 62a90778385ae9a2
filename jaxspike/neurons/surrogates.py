r"""Surrogate gradients for the Heaviside spike.

The spike :math:`s = H(x)` (with :math:`x = v - v_{th}`) has a zero derivative almost
everywhere. Surrogate-gradient training (Neftci, Mostafa & Zenke 2019) keeps the exact
Heaviside in the forward pass and replaces :math:`H'(x)` by a smooth pseudo-derivative
:math:`g(x)` in the backward pass.

Every surrogate here is a frozen, hashable dataclass registered as a JAX pytree: equal
surrogates compare equal (so a jitted function never retraces for an equal one) and the
hyperparameters are pytree leaves (so they can be traced or vmapped; the spike's backward
pass gives them a zero cotangent, so they are not learned by gradient descent).

Each class documents:

* ``__call__(x)``: the surrogate derivative :math:`g(x)` used in the backward pass;
* ``smooth(x)``: a smooth primitive :math:`S(x)` with :math:`S'(x) = g(x)`;
* its peak :math:`g(0)`, its source, and how its scale relates to the snnTorch 1.0 and
  Spyx 1.0 surrogates of the same name.

Defining your own: subclass :class:`Surrogate`, decorate with :func:`surrogate_class`,
implement ``__call__`` and ``smooth``, and check it with
:func:`jaxspike.testing.check_surrogate`.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from typing import TYPE_CHECKING, Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "surrogate_class",
    "Surrogate",
    "FastSigmoid",
    "SuperSpike",
    "Sigmoid",
    "ATan",
    "Triangle",
    "Boxcar",
    "StraightThrough",
    "Gaussian",
    "Exponential",
    "get_surrogate",
]

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: Any) -> Any:
        """Static-typing marker only (typing.dataclass_transform needs Python 3.11)."""
        return lambda f: f


_T = TypeVar("_T")


@dataclass_transform(frozen_default=True)
def surrogate_class(cls: type[_T]) -> type[_T]:
    """Make ``cls`` a frozen dataclass whose fields are pytree leaves.

    Use it to define your own surrogate::

        @surrogate_class
        class Cosine(Surrogate):
            width: float = 1.0
            def __call__(self, x): ...
            def smooth(self, x): ...
    """
    dc = dataclasses.dataclass(frozen=True)(cls)
    fields = [f.name for f in dataclasses.fields(dc)]  # type: ignore[arg-type]
    jax.tree_util.register_dataclass(dc, data_fields=fields, meta_fields=[])
    return dc


class Surrogate(abc.ABC):
    """Base class: a surrogate derivative ``g`` with a documented smooth primitive.

    Hyperparameters named in ``_positive`` must be finite and > 0; a Python or NumPy
    number is checked when the surrogate is built (arrays, e.g. traced or vmapped
    values, are not).
    """

    _positive: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject widths, slopes and heights that are 0, negative, infinite or NaN."""
        for name in self._positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.generic)):
                continue
            if not (math.isfinite(float(value)) and float(value) > 0):
                raise ValueError(
                    f"{type(self).__name__}: {name} must be a finite number > 0, got {value!r}."
                )

    @abc.abstractmethod
    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative ``g(x)`` that replaces ``H'(x)``."""

    @abc.abstractmethod
    def smooth(self, x: jax.Array) -> jax.Array:
        """A smooth primitive ``S`` of the surrogate: ``S'(x) == g(x)``."""


@surrogate_class
class FastSigmoid(Surrogate):
    r"""Fast sigmoid, the SuperSpike surrogate (Zenke & Ganguli 2018).

    .. math:: g(x) = \frac{1}{(1 + k|x|)^2}, \qquad S(x) = \frac{x}{1 + k|x|},
       \qquad g(0) = 1.

    Same scale as snnTorch's ``fast_sigmoid(slope=k)`` and Spyx's ``superspike(k)``
    (both default ``k = 25``).

    Example:
        >>> float(FastSigmoid(slope=25.0)(jnp.asarray(0.0)))
        1.0

    References:
        F. Zenke, S. Ganguli. SuperSpike: supervised learning in multilayer spiking
        neural networks. Neural Computation 30(6), 2018.
    """

    _positive = ("slope",)
    slope: float = 25.0

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return 1.0 / (1.0 + self.slope * jnp.abs(x)) ** 2

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        return x / (1.0 + self.slope * jnp.abs(x))


SuperSpike = FastSigmoid


@surrogate_class
class Sigmoid(Surrogate):
    r"""Derivative of the logistic sigmoid :math:`\sigma(kx)`.

    .. math:: g(x) = k\,\sigma(kx)\,(1 - \sigma(kx)), \qquad S(x) = \sigma(kx),
       \qquad g(0) = k/4.

    Same scale as snnTorch's ``sigmoid(slope=k)`` (default ``k = 25``), written here in
    an overflow-free form. Spyx has no logistic surrogate; its ``tanh(k)`` equals
    ``Sigmoid(slope=2k)`` divided by ``k/2``.

    Example:
        >>> float(Sigmoid(slope=4.0)(jnp.asarray(0.0)))
        1.0

    References:
        E. O. Neftci, H. Mostafa, F. Zenke. Surrogate gradient learning in spiking
        neural networks. IEEE Signal Processing Magazine 36(6), 2019.
    """

    _positive = ("slope",)
    slope: float = 25.0

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        # sigma(z) sigma(-z) = sigma(z) (1 - sigma(z)) without the cancellation of
        # 1 - sigma(z) for large z (float32 lost ~1% at z = 12.5).
        z = self.slope * x
        return self.slope * jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        # 1 - sigma(-z) for z >= 0: the same value, and its derivative computed by
        # autodiff, sigma(-z) (1 - sigma(-z)), has no cancellation (equals __call__).
        z = self.slope * x
        return jnp.where(z >= 0, 1.0 - jax.nn.sigmoid(-z), jax.nn.sigmoid(z))


@surrogate_class
class ATan(Surrogate):
    r"""Arctangent surrogate (Fang et al. 2021).

    .. math:: g(x) = \frac{\alpha/2}{1 + (\pi \alpha x / 2)^2}, \qquad
       S(x) = \frac{1}{\pi}\arctan\!\left(\frac{\pi \alpha x}{2}\right) + \frac12,
       \qquad g(0) = \alpha/2.

    Same scale as snnTorch's ``atan(alpha)`` (default ``alpha = 2``, peak 1). Spyx's
    ``arctan(k)`` is :math:`1/(\pi(1 + (k\pi x)^2))`, i.e. ``ATan(alpha=2k)`` times
    :math:`1/(\pi k)`: at Spyx's default ``k = 2`` its peak is :math:`1/\pi`, about 3x
    smaller than this class's default.

    Example:
        >>> float(ATan(alpha=2.0)(jnp.asarray(0.0)))
        1.0

    References:
        W. Fang et al. Incorporating learnable membrane time constant to enhance
        learning of spiking neural networks. ICCV 2021.
    """

    _positive = ("alpha",)
    alpha: float = 2.0

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return (self.alpha / 2.0) / (1.0 + (math.pi * self.alpha * x / 2.0) ** 2)

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        return jnp.arctan(math.pi * self.alpha * x / 2.0) / math.pi + 0.5


@surrogate_class
class Triangle(Surrogate):
    r"""Triangular (piecewise-linear) pseudo-derivative (Esser et al. 2016; Bellec 2018).

    .. math:: g(x) = h \max\!\left(0, 1 - \frac{|x|}{w}\right), \qquad
       S(x) = h\left(x - \frac{x|x|}{2w}\right) \text{ for } |x| \le w,
       \ \pm \frac{hw}{2} \text{ beyond}, \qquad g(0) = h.

    Spyx's ``triangular(k)`` is ``Triangle(width=1/k, height=1)``. snnTorch 1.0's
    ``triangular`` is not a triangle (its gradient is ``+threshold`` below and
    ``-threshold`` above the threshold); there is no scale to match.

    Example:
        >>> float(Triangle(width=1.0, height=0.3)(jnp.asarray(0.5)))
        0.15

    References:
        G. Bellec et al. Long short-term memory and learning-to-learn in networks of
        spiking neurons. NeurIPS 2018 (pseudo-derivative with dampening 0.3).
    """

    _positive = ("width", "height")
    width: float = 1.0
    height: float = 1.0

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return self.height * jnp.maximum(0.0, 1.0 - jnp.abs(x) / self.width)

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        xc = jnp.clip(x, -self.width, self.width)
        return self.height * (xc - xc * jnp.abs(xc) / (2.0 * self.width))


@surrogate_class
class Boxcar(Surrogate):
    r"""Rectangular pseudo-derivative (Wu et al. 2018, "rectangular" curve).

    .. math:: g(x) = h \cdot \mathbb{1}[|x| < w/2], \qquad
       S(x) = h \operatorname{clip}(x, -w/2, w/2), \qquad g(0) = h.

    Spyx's ``boxcar(width, height)`` has the same parameters (defaults 2 and 0.5; this
    class defaults to width 1 and height 1, unit area). snnTorch has no boxcar.

    Example:
        >>> float(Boxcar(width=1.0, height=1.0)(jnp.asarray(0.4)))
        1.0

    References:
        Y. Wu et al. Spatio-temporal backpropagation for training high-performance
        spiking neural networks. Frontiers in Neuroscience 12, 2018.
    """

    _positive = ("width", "height")
    width: float = 1.0
    height: float = 1.0

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return jnp.where(jnp.abs(x) < self.width / 2.0, self.height, 0.0).astype(x.dtype)

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        return self.height * jnp.clip(x, -self.width / 2.0, self.width / 2.0)


@surrogate_class
class StraightThrough(Surrogate):
    r"""Straight-through estimator (Bengio, Léonard & Courville 2013).

    .. math:: g(x) = 1, \qquad S(x) = x, \qquad g(0) = 1.

    The same as snnTorch's ``straight_through_estimator`` and Spyx's default
    ``custom`` backward.

    Example:
        >>> float(StraightThrough()(jnp.asarray(3.0)))
        1.0

    References:
        Y. Bengio, N. Léonard, A. Courville. Estimating or propagating gradients through
        stochastic neurons for conditional computation. arXiv:1308.3432, 2013.
    """

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return jnp.ones_like(x)

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        return x


@surrogate_class
class Gaussian(Surrogate):
    r"""Gaussian pseudo-derivative: the normal density of width ``sigma``.

    .. math:: g(x) = \frac{1}{\sigma\sqrt{2\pi}} e^{-x^2 / (2\sigma^2)}, \qquad
       S(x) = \tfrac12\left(1 + \operatorname{erf}\!\frac{x}{\sigma\sqrt2}\right),
       \qquad g(0) = \frac{1}{\sigma\sqrt{2\pi}}.

    Unit area, like the Gaussian used by Yin, Corradi & Bohté (2021). Neither snnTorch
    1.0 nor Spyx 1.0 ships a Gaussian surrogate.

    Example:
        >>> round(float(Gaussian(sigma=0.5)(jnp.asarray(0.0))), 4)
        0.7979

    References:
        B. Yin, F. Corradi, S. M. Bohté. Accurate and efficient time-domain
        classification with adaptive spiking recurrent neural networks. Nature Machine
        Intelligence 3, 2021.
    """

    _positive = ("sigma",)
    sigma: float = 0.5

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        z = x / self.sigma
        return jnp.exp(-0.5 * z * z) / (self.sigma * math.sqrt(2.0 * math.pi))

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        return 0.5 * (1.0 + jax.scipy.special.erf(x / (self.sigma * math.sqrt(2.0))))


@surrogate_class
class Exponential(Surrogate):
    r"""SLAYER's exponential spike-escape density (Shrestha & Orchard 2018).

    .. math:: g(x) = \alpha e^{-\beta |x|}, \qquad
       S(x) = \frac{\alpha}{\beta}\operatorname{sign}(x)\left(1 - e^{-\beta|x|}\right),
       \qquad g(0) = \alpha.

    snnTorch's ``spike_rate_escape(beta, slope)`` is :math:`k e^{-\beta|x|}`, the same
    function with ``alpha = slope``. Spyx has none.

    Example:
        >>> float(Exponential(alpha=1.0, beta=5.0)(jnp.asarray(0.0)))
        1.0

    References:
        S. B. Shrestha, G. Orchard. SLAYER: spike layer error reassignment in time.
        NeurIPS 2018.
    """

    _positive = ("alpha", "beta")
    alpha: float = 1.0
    beta: float = 5.0

    def __call__(self, x: jax.Array) -> jax.Array:
        """The surrogate derivative used in the backward pass (the spike's pseudo-gradient)."""
        return self.alpha * jnp.exp(-self.beta * jnp.abs(x))

    def smooth(self, x: jax.Array) -> jax.Array:
        """The smooth step function whose derivative is :meth:`__call__`."""
        # Written per branch (not with sign/abs) so that autodiff gives S'(0) = alpha.
        pos = x >= 0
        up = -jnp.expm1(-self.beta * jnp.where(pos, x, 0.0))
        down = jnp.expm1(self.beta * jnp.where(pos, 0.0, x))
        return self.alpha / self.beta * jnp.where(pos, up, down)


_BY_NAME: dict[str, type[Surrogate]] = {
    "fast_sigmoid": FastSigmoid,
    "superspike": FastSigmoid,
    "sigmoid": Sigmoid,
    "atan": ATan,
    "arctan": ATan,
    "triangle": Triangle,
    "boxcar": Boxcar,
    "straight_through": StraightThrough,
    "gaussian": Gaussian,
    "exponential": Exponential,
    "slayer": Exponential,
}


def get_surrogate(surrogate: Surrogate | str, **kwargs: Any) -> Surrogate:
    """Return a surrogate instance from an instance or a name such as ``"atan"``.

    Args:
        surrogate: a :class:`Surrogate` (returned unchanged) or one of the names
            ``fast_sigmoid``/``superspike``, ``sigmoid``, ``atan``/``arctan``,
            ``triangle``, ``boxcar``, ``straight_through``, ``gaussian``,
            ``exponential``/``slayer``.
        **kwargs: hyperparameters for a surrogate given by name.

    Raises:
        ValueError: for an unknown name.
        TypeError: for anything that is neither a name nor a Surrogate.

    Example:
        >>> get_surrogate("atan", alpha=4.0)
        ATan(alpha=4.0)
    """
    if isinstance(surrogate, Surrogate):
        if kwargs:
            raise TypeError("get_surrogate: keyword arguments only apply to a name.")
        return surrogate
    if isinstance(surrogate, str):
        try:
            cls = _BY_NAME[surrogate.lower()]
        except KeyError:
            raise ValueError(
                f"get_surrogate: unknown surrogate {surrogate!r}; expected one of "
                f"{sorted(_BY_NAME)} or a Surrogate instance."
            ) from None
        return cls(**kwargs)
    raise TypeError(
        f"surrogate must be a jaxspike Surrogate or a name, got {type(surrogate).__name__}."
    )
