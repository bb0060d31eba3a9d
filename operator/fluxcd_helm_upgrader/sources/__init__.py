"""Chart sources over the network, and the Secrets that open them. Called by the check cycle (`cycles.running`,
`cycles.oci_checks`) and, for the upgrade risk, by the Git worker (`proposals.risking`).

* HTTP Helm repositories: `helm_http` (index.yaml with conditional GET and a parsed-result cache),
  `helm_http_body` (the streamed body within a size cap), `auth` (basic auth and TLS from Flux-format Secrets).
* OCI registries: `oci` (the registry client: tags, manifests, blobs), `oci_auth` (Docker/OCI token handshake and
  credentials), `oci_refs` (`oci://` references as Flux writes them), `oci_charts` (chart metadata from artifacts).
* `charts`: packaged charts the upgrade risk compares, each downloaded once.
* `secrets`: read one Secret by name (never list or watch), as the operator or as a config's ServiceAccount.
"""
