"""Everything between stored lines and the API: Sphinx schema, config, queries."""
