"""Page building blocks shared by every app's views (no models, imports no app): the confirm step."""
