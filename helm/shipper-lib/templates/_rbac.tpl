{{/*
ServiceAccount, Role (get pods and jobs) and RoleBinding for the optional Kubernetes API
enrichment (`k8s_api: true`). Render it when `values.k8sApi` is true.
*/}}
{{- define "shipper-lib.rbac" -}}
{{- $name := include "shipper-lib.serviceAccountName" . -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ $name }}
  labels:
    app.kubernetes.io/component: log-shipper
    app.kubernetes.io/instance: {{ .root.Release.Name }}
automountServiceAccountToken: true
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  labels:
    app.kubernetes.io/component: log-shipper
    app.kubernetes.io/instance: {{ .root.Release.Name }}
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["get"]
  - apiGroups: ["batch"]
    resources: ["jobs"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  labels:
    app.kubernetes.io/component: log-shipper
    app.kubernetes.io/instance: {{ .root.Release.Name }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ $name }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
