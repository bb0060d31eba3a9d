"""Multi-tenancy I/O (Flux's lockdown): `impersonation` (reading Secrets as a config's ServiceAccount,
`Impersonate-User`; `services.Services` builds the readers the cycle and the Git worker share) and `reviews`
(SubjectAccessReviews: may that ServiceAccount list HelmReleases in a namespace), called by `cycles.tenancy`. The
rules are pure, in `checking.tenancy`.
"""
