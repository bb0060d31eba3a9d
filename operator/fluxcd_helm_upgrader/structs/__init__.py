"""Value types shared by every layer; the bottom of the layers contract (they import nothing of the package).

`flux` (frozen snapshots of the Flux objects the operator observes), `proposals` (an UpgradeProposal's spec and
status as the cycle and the Git worker read them back), `kinds` (API group, version and plural of
every kind), `accounts` (a ServiceAccount as an identity), `urls` (the one form in which a URL is stored or shown,
and where credentials may travel).
"""
