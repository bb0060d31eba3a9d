"""Building a checkout directory into objects as kustomize-controller would: resources, components, patches,
transformers, generated kustomizations; what is not modelled is noted, never guessed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fluxcd_helm_upgrader.gitops import rendering

RELEASE = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: podinfo
  namespace: apps
spec:
  chart:
    spec:
      chart: podinfo
      version: "6.4.1"
      sourceRef: {kind: HelmRepository, name: charts, namespace: flux-system}
  values:
    replicaCount: 1
    tolerations: [{key: a}]
"""


def _tree(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def _by_name(rendered: list[rendering.Rendered]) -> dict[str, dict[str, Any]]:
    return {r.doc["metadata"]["name"]: r.doc for r in rendered}


def test_overlay_patches_components_and_transformers(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "base/kustomization.yaml": "resources: [release.yaml]\n",
        "base/release.yaml": RELEASE,
        "comp/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n"
                                   "resources: [repo.yaml]\npatches:\n- patch: |\n    - op: replace\n"
                                   "      path: /spec/values/replicaCount\n      value: 3\n"
                                   "  target: {kind: HelmRelease}\n",
        "comp/repo.yaml": "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\n"
                          "metadata: {name: charts}\nspec: {url: https://charts.example.com}\n",
        "prod/kustomization.yaml": "resources: [../base]\ncomponents: [../comp]\nnamespace: prod\n"
                                   "commonLabels: {env: prod}\npatches:\n- path: version.yaml\n"
                                   "- patch: |\n    apiVersion: helm.toolkit.fluxcd.io/v2\n    kind: HelmRelease\n"
                                   "    metadata: {name: podinfo}\n    spec:\n      values:\n        tolerations: []\n"
                                   "        replicaCount: null\n",
        "prod/version.yaml": "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
                             "metadata: {name: podinfo, namespace: apps}\nspec: {chart: {spec: {version: 6.5.0}}}\n",
    })  # fmt: skip
    renderer = rendering.Renderer(tmp_path)
    built = _by_name(renderer.render(tmp_path / "prod"))
    release = built["podinfo"]
    assert release["metadata"]["namespace"] == "prod" and release["metadata"]["labels"] == {"env": "prod"}
    assert release["spec"]["chart"]["spec"]["version"] == "6.5.0"  # the overlay wins
    assert release["spec"]["chart"]["spec"]["chart"] == "podinfo"  # the rest of the base is kept
    assert release["spec"]["values"] == {"tolerations": []}  # lists replaced, null deletes (after the JSON patch)
    assert built["charts"]["metadata"]["namespace"] == "prod"
    assert renderer.notes == []


def test_a_plain_directory_is_every_yaml_below_it(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "apps/a.yaml": RELEASE + "---\n" + RELEASE.replace("name: podinfo\n  namespace", "name: other\n  namespace"),
        "apps/nested/b.yml": RELEASE.replace("name: podinfo\n", "name: nested\n"),
        "apps/sub/kustomization.yaml": "resources: [c.yaml]\nnamePrefix: k-\n",
        "apps/sub/c.yaml": RELEASE,
        "apps/sub/ignored.yaml": RELEASE.replace("name: podinfo\n", "name: ignored\n"),
        "apps/notes.txt": "not yaml",
    })  # fmt: skip
    rendered = rendering.Renderer(tmp_path).render(tmp_path / "apps")
    assert sorted((r.doc["metadata"]["name"], r.origin) for r in rendered) == [
        ("k-podinfo", "apps/sub/c.yaml"),
        ("nested", "apps/nested/b.yml"),
        ("other", "apps/a.yaml"),
        ("podinfo", "apps/a.yaml"),
    ]


def test_delete_patches_legacy_json6902_and_what_is_not_modelled(tmp_path: Path) -> None:
    _tree(tmp_path, {
        "o/kustomization.yaml": "resources: [r.yaml, ../../outside.yaml, https://example.com/x.yaml]\n"
                                "patchesJson6902:\n- target: {kind: HelmRelease, name: podinfo}\n  path: ops.yaml\n"
                                "patchesStrategicMerge:\n- |\n  apiVersion: helm.toolkit.fluxcd.io/v2\n"
                                "  kind: HelmRelease\n  metadata: {name: gone}\n  $patch: delete\n"
                                "configMapGenerator:\n- name: x\n",
        "o/r.yaml": RELEASE + "---\n" + RELEASE.replace("name: podinfo\n", "name: gone\n"),
        "o/ops.yaml": "- {op: add, path: /spec/values/tolerations/-, value: {key: b}}\n"
                      "- {op: remove, path: /spec/values/replicaCount}\n",
    })  # fmt: skip
    renderer = rendering.Renderer(tmp_path)
    built = _by_name(renderer.render(tmp_path / "o"))
    assert list(built) == ["podinfo"]
    assert built["podinfo"]["spec"]["values"] == {"tolerations": [{"key": "a"}, {"key": "b"}]}
    assert "o/kustomization.yaml: configMapGenerator not applied" in renderer.notes
    assert "remote resource https://example.com/x.yaml skipped" in renderer.notes
    assert any("../../outside.yaml" in note and "outside the repository; not read" in note for note in renderer.notes)
