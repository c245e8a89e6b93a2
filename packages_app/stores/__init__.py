"""The blob stores behind ``packages_app.storage``: the interface and its two implementations."""
