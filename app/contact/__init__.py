"""Messages between victims and officers, escalations, and their service levels."""
