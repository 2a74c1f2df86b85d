"""The dashboard's logic as plain functions: data access, figures, callback bodies, UI pieces.

Pages call these; unit tests call them without a browser. Nothing here imports torch, annoy
or umap, and nothing loads data at import.
"""
