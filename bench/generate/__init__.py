"""A synthetic London (issue 8): cases, journeys and rows bulk-loaded into PostgreSQL."""
