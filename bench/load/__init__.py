"""London-scale load test (issue 8): open-loop victims and agencies against the generated city."""
