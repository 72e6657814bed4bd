"""Read queries shared by the admin, reports and services, one module per concern."""
