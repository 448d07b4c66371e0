"""The victim portal: passwordless sign-in, sessions, and the case pages."""
