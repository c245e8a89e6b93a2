"""The registry's domain: packages, manifests, tags, blobs, uploads and who may touch them."""
