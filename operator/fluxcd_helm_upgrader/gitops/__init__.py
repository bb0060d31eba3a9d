"""The GitOps repository: clones, credentials, finding the one line that sets a version, and editing it.

Called by the Git worker (`proposals.publishing` through `proposals.changes`) and by the `scan` CLI
(`repository_scanning`).

* Git: `repos` (persistent working clones: prepare, commit one change, push our branch), `objects` (a commit's
  blobs, trees and commit written in-process), `pushing` (many branches in one `git push`), `commands` (GitPython in
  an isolated environment, one credential session per command), `credentials` (Flux GitRepository-format Secrets
  and how they reach git without argv, URLs or `.git/config`), `urls` (remote URLs checked before any clone).
* Finding the line the way Flux built the object: `locating` (entry point), `index` (a checkout's manifests read
  once per commit, for a batch or a `scan`), `manifests` (its vocabulary),
  `kustomize` (walks a kustomize tree, tracking where one field is set), `rendering` (builds a directory into
  objects, as kustomize-controller would).
* Editing: `scalars` (where one YAML scalar sits in the text), `editing` (replace its bytes and nothing else,
  verified by re-parsing).
"""
