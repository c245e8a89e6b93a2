"""The OCI Distribution Spec v1.1 wire protocol. No models, no storage code: it calls packages_app."""
