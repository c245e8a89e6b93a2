"""Writes, one module per concept; callers import the module they need (nothing is re-exported here).

* ``packages``: the package a first push creates, visibility, deleting and restoring a package;
* ``blobs``: linking, mounting and unlinking blobs (upload sessions are ``packages_app.uploads``);
* ``manifests``: manifest push and DELETE by digest, counting pulls;
* ``tags``: DELETE by tag (tags themselves are written only by ``packages_app.tagging``);
* ``versions``: deleting and restoring a version;
* ``grants``: users' and teams' own roles on a package;
* ``repositories``: source repositories, collaborators, linking packages, automation publishing.

Each function owns its (short) transactions and writes the audit log (``packages_app.audit``).
"""
