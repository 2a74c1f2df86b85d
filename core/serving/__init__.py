"""Serving queries without PyTorch: the ``serving/<run>`` artifact and the models the web process runs.

At build time (:func:`core.serving.export.export_serving`, the pipeline's ``serving`` step)
the frozen backbone's feature map (the same ONNX file the embed step's ``onnx`` runtime uses,
:func:`core.embed.onnx.export`), the similarity head and the clustering's projection head are
exported to ONNX, with the clustering's preprocessing, centroids and novelty thresholds as
numpy arrays. The web process loads them with ONNX Runtime (:mod:`core.serving.models`): one
intra-op thread, no memory arena, and never ``import torch``. The artifact's parents are the
similarity and clustering versions it was exported from; a stale or missing one makes the query
path fall back to torch (``STYLE_ATLAS_QUERY_ENGINE=torch`` forces that, for comparisons).

Modules: ``export`` (build time, torch), ``models`` (serve time, numpy + onnxruntime).
"""
