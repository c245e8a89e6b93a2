"""People and organizations: sign-up rules for namespaces, organizations, members and teams."""
