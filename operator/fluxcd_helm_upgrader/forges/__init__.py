"""Pull-request APIs ("forges") behind one protocol, `base.Forge`, which the Git worker (`proposals.publishing`,
`proposals.following`) calls through `proposals.access.forge_for`.

`github` (githubkit; GitHub and GitHub Enterprise) and `none` (`provider: none`: branches only) implement it;
`retrying` bounds retries and maps githubkit's errors to `base.ForgeError` (secrets redacted); `app_tokens` mints
GitHub App installation tokens (for the PR API and for Git over HTTPS); `texts` writes the PR title and body (pure).
"""
