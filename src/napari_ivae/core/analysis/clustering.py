"""Unsupervised classes: k-means on the invariant latent codes of a trained model.

An rVAE puts rotation and position into its angle and offset latents, so its ``z`` codes
describe what a patch *is*, whatever its orientation; clustering them gives classes without
a single label. On the cards benchmark (four suits, +-60 deg rotation, shifts) k-means on the
``z`` of a default rVAE recovers the suits at 0.98 accuracy, against 0.34 for a plain VAE
(``benchmarks/clustering.py``). The papers' joint rVAE trained from scratch collapsed to one or
two classes in our trials; the ``jrvae`` model kind therefore starts its classifier from this
k-means on its own warm-up codes (``docs/performance.md``). The ss-rVAE remains the tool when
a few labels can be drawn.

k-means++ seeding, Lloyd iterations, the best of several restarts (lowest within-cluster sum of
squares); features are standardised first so that no latent dominates by its scale alone.
Deterministic for a given ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_ivae.core.errors import InputError


@dataclass(frozen=True)
class Clustering:
    """The result of :func:`cluster_latents`.

    Attributes
    ----------
    labels : numpy.ndarray
        ``(N,)`` int64 cluster of every patch, ``0..n_clusters-1``, numbered by decreasing size.
    centres : numpy.ndarray
        ``(n_clusters, F)`` cluster centres in the original feature units.
    inertia : float
        Within-cluster sum of squares of the standardised features.
    sizes : numpy.ndarray
        Patches per cluster.
    features : tuple of str
        Names of the feature columns used.
    seed : int
        Seed of the k-means++ draws.
    use_angle : bool
        Whether ``cos/sin`` of the angle were clustered too.
    mean, scale : numpy.ndarray
        The standardisation of the features (``(x - mean) / scale``), kept so that
        :meth:`assign` puts new patches into the same classes.
    """

    labels: np.ndarray
    centres: np.ndarray
    inertia: float
    sizes: np.ndarray
    features: tuple
    seed: int
    use_angle: bool = False
    mean: np.ndarray | None = None
    scale: np.ndarray | None = None

    @property
    def n_clusters(self) -> int:
        """Number of clusters."""
        return len(self.sizes)

    def summary(self) -> dict:
        """Plain-number description (for a layer's or a file's metadata)."""
        return {
            "n_clusters": self.n_clusters,
            "sizes": [int(s) for s in self.sizes],
            "features": list(self.features),
            "seed": int(self.seed),
            "use_angle": bool(self.use_angle),
            "inertia": float(self.inertia),
            "method": "k-means on standardised latents",
        }

    def assign(self, codes) -> np.ndarray:
        """The class of each new patch: its nearest centre (same features and scaling).

        Parameters
        ----------
        codes : Encoding or array-like
            As for :func:`cluster_latents` (an Encoding of the same model, or ``(N, F)``).

        Returns
        -------
        numpy.ndarray
            ``(N,)`` int64 classes ``0..n_clusters-1``.
        """
        features, _ = _features(codes, self.use_angle)
        if features.shape[1] != self.centres.shape[1]:
            raise InputError(
                f"these codes have {features.shape[1]} features, the classes "
                f"were found on {self.centres.shape[1]} ({', '.join(self.features)})"
            )
        if not np.isfinite(features).all():
            raise InputError("the latent codes contain NaN or infinity")
        mean = np.zeros(features.shape[1]) if self.mean is None else self.mean
        scale = np.ones(features.shape[1]) if self.scale is None else self.scale
        centres = (self.centres - mean) / scale
        return _squared_distances((features - mean) / scale, centres).argmin(axis=1)

    def to_dict(self) -> dict:
        """What :meth:`from_dict` needs to assign new patches (JSON-safe; labels left out)."""
        return {
            **self.summary(),
            "centres": self.centres.tolist(),
            "mean": None if self.mean is None else self.mean.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Clustering:
        """Rebuild from :meth:`to_dict` (``labels`` is empty)."""
        try:
            centres = np.asarray(d["centres"], dtype=np.float64)
            return cls(
                labels=np.zeros(0, dtype=np.int64),
                centres=centres,
                inertia=float(d.get("inertia", np.nan)),
                sizes=np.asarray(d["sizes"], dtype=np.int64),
                features=tuple(d["features"]),
                seed=int(d["seed"]),
                use_angle=bool(d.get("use_angle", False)),
                mean=None if d.get("mean") is None else np.asarray(d["mean"], float),
                scale=None if d.get("scale") is None else np.asarray(d["scale"], float),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"stored classes are incomplete or damaged ({err})") from err


def latent_features(encoding, *, use_angle: bool = False) -> tuple[np.ndarray, tuple]:
    """The feature matrix clustered by :func:`cluster_latents` and its column names.

    Parameters
    ----------
    encoding : Encoding
        From :func:`napari_ivae.core.models.inference.encode`.
    use_angle : bool
        Add ``cos(angle), sin(angle)`` (for classes that differ by orientation, e.g. two
        domains of one lattice). Off by default: the point of an rVAE is that ``z`` does not
        depend on orientation.
    """
    z = np.asarray(encoding.z_mean, dtype=np.float64)
    columns = [z]
    names = [f"z{i + 1}" for i in range(z.shape[1])]
    if use_angle:
        if encoding.angle is None:
            raise InputError(
                "this model has no angle latent (use_angle needs a rotation-invariant model)"
            )
        angle = np.asarray(encoding.angle, dtype=np.float64).reshape(-1, 1)
        columns += [np.cos(angle), np.sin(angle)]
        names += ["cos angle", "sin angle"]
    return np.hstack(columns), tuple(names)


def cluster_latents(
    codes,
    n_clusters: int,
    *,
    seed: int = 0,
    use_angle: bool = False,
    restarts: int = 4,
    max_iter: int = 100,
) -> Clustering:
    """Group patches into ``n_clusters`` classes by k-means on their latent codes.

    Parameters
    ----------
    codes : Encoding or array-like
        An :class:`~napari_ivae.core.models.inference.Encoding` (its ``z_mean``, plus the angle with
        ``use_angle``) or an ``(N, F)`` feature array.
    n_clusters : int
        Number of classes (2 or more, at most the number of distinct codes).
    seed : int
        Seed of the k-means++ initialisations (the result is reproducible).
    use_angle : bool
        With an Encoding: also cluster on ``cos/sin`` of the angle (see :func:`latent_features`).
    restarts : int
        Independent initialisations; the lowest within-cluster sum of squares wins.
    max_iter : int
        Lloyd iterations per restart (stops earlier when the assignment is stable).

    Returns
    -------
    Clustering

    Raises
    ------
    InputError
        Fewer than 2 clusters, more clusters than distinct codes, non-finite codes.
    """
    features, names = _features(codes, use_angle)
    n_clusters, restarts = int(n_clusters), max(int(restarts), 1)
    if n_clusters < 2:
        raise InputError(f"n_clusters must be >= 2, got {n_clusters}")
    if not np.isfinite(features).all():
        raise InputError(
            "the latent codes contain NaN or infinity; retrain the model "
            "(its loss probably diverged)"
        )
    distinct = len(np.unique(features, axis=0)) if len(features) else 0
    if distinct < n_clusters:
        raise InputError(
            f"cannot make {n_clusters} clusters from {distinct} distinct "
            f"codes ({len(features)} patches); ask for fewer clusters or cut "
            "more patches"
        )
    mean, spread = features.mean(axis=0), features.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    scaled = (features - mean) / spread
    rng = np.random.default_rng(int(seed))
    best: tuple[np.ndarray, float] | None = None
    for _ in range(restarts):
        labels, inertia = _lloyd(scaled, _kmeans_plus_plus(scaled, n_clusters, rng), max_iter)
        if best is None or inertia < best[1]:
            best = (labels, inertia)
    assert best is not None  # restarts >= 1
    labels, inertia = best
    # number clusters by decreasing size (ties by first appearance): stable, readable output
    sizes = np.bincount(labels, minlength=n_clusters)
    order = np.lexsort((_first_index(labels, n_clusters), -sizes))
    renumber = np.empty(n_clusters, dtype=np.int64)
    renumber[order] = np.arange(n_clusters)
    labels = renumber[labels]
    centres = np.stack([features[labels == k].mean(axis=0) for k in range(n_clusters)])
    return Clustering(
        labels=labels.astype(np.int64),
        centres=centres,
        inertia=float(inertia),
        sizes=np.bincount(labels, minlength=n_clusters),
        features=names,
        seed=int(seed),
        use_angle=bool(use_angle) and hasattr(codes, "z_mean"),
        mean=mean,
        scale=spread,
    )


def _features(codes, use_angle: bool) -> tuple[np.ndarray, tuple]:
    if hasattr(codes, "z_mean"):
        return latent_features(codes, use_angle=use_angle)
    features = np.asarray(codes, dtype=np.float64)
    if features.ndim == 1:
        features = features[:, None]
    if features.ndim != 2:
        raise InputError(f"codes must be an (N, F) array, got shape {features.shape}")
    return features, tuple(f"feature {i + 1}" for i in range(features.shape[1]))


def _kmeans_plus_plus(points: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each new centre drawn with probability ~ squared distance."""
    centres = [points[rng.integers(len(points))]]
    nearest = ((points - centres[0]) ** 2).sum(axis=1)
    for _ in range(1, k):
        total = nearest.sum()
        if total <= 0:  # every point sits on a centre already
            pick = int(rng.integers(len(points)))
        else:
            pick = int(rng.choice(len(points), p=nearest / total))
        centres.append(points[pick])
        nearest = np.minimum(nearest, ((points - points[pick]) ** 2).sum(axis=1))
    return np.stack(centres)


def _lloyd(points: np.ndarray, centres: np.ndarray, max_iter: int) -> tuple[np.ndarray, float]:
    labels = None
    for _ in range(max(int(max_iter), 1)):
        distances = _squared_distances(points, centres)
        new = _assign(distances, len(centres))
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        previous = centres.copy()
        for k in range(len(centres)):
            centres[k] = points[labels == k].mean(axis=0)
        # standardised features: a shift of 1e-4 of a unit variance is converged
        if ((centres - previous) ** 2).sum() < 1e-8 * len(centres):
            break
    distances = _squared_distances(points, centres)
    labels = _assign(distances, len(centres))
    return labels, float(distances[np.arange(len(points)), labels].sum())


def _assign(distances: np.ndarray, k: int) -> np.ndarray:
    """Nearest centre; a cluster left empty takes the point its current centre serves worst
    (no cluster may vanish)."""
    labels = distances.argmin(axis=1)
    for cluster in range(k):
        if not np.any(labels == cluster):
            served = distances[np.arange(len(labels)), labels]
            sizes = np.bincount(labels, minlength=k)
            served = np.where(sizes[labels] > 1, served, -np.inf)  # never empty another
            labels[int(served.argmax())] = cluster
    return labels


def _squared_distances(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """``(N, K)`` squared distances without an ``(N, K, F)`` temporary."""
    out = (points**2).sum(axis=1)[:, None] - 2.0 * points @ centres.T
    out += (centres**2).sum(axis=1)[None, :]
    return np.maximum(out, 0.0)


def _first_index(labels: np.ndarray, k: int) -> np.ndarray:
    first = np.full(k, len(labels))
    np.minimum.at(first, labels, np.arange(len(labels)))
    return first


__all__ = ["Clustering", "cluster_latents", "latent_features"]
