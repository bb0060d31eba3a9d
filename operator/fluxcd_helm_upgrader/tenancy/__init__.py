"""Multi-tenancy I/O (Flux's lockdown): reading Secrets as a config's ServiceAccount, and SubjectAccessReviews."""
