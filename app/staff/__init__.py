"""The staff console: sign-in, roles, the cases staff may see, the Hub queues, agencies."""
