"""Registry views, one module per resource of distribution-spec "Endpoints"."""
