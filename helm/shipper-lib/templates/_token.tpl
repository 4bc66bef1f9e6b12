{{/*
The bearer token for the shipper's /v1/* endpoints (live tail, job summaries), which show
job ids, error text and redacted records. Without a token the shipper answers /v1/* to
loopback clients only (kubectl port-forward); with one, every /v1/* request needs
`Authorization: Bearer <token>`. /metrics and the probes stay open either way.

values.apiToken:
  existingSecret: ""   a Secret you manage (key `key`); empty: the chart generates one
  key: token           the key holding the token in that Secret
  disabled: false      true: no token (/v1/* loopback-only)

A generated Secret ("<release>-shipper-api-token") gets a random 40-character token at
install and keeps it on upgrades (`lookup`); `helm template` cannot look it up and renders
a new random value each time. The pod mounts the Secret (optional, so a missing Secret
never blocks the pod; the shipper then stays loopback-only) and the shipper re-reads the
file every 30 s, so rotating the token needs no restart.
*/}}

{{- define "shipper-lib.apiTokenEnabled" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- if not $v.apiToken.disabled -}}true{{- end -}}
{{- end }}

{{- define "shipper-lib.apiTokenSecretName" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- $v.apiToken.existingSecret | default (printf "%s-shipper-api-token" .root.Release.Name | trunc 63 | trimSuffix "-") -}}
{{- end }}

{{/* The directory the token Secret is mounted at; the file is "token" in it. */}}
{{- define "shipper-lib.apiTokenDir" -}}
/etc/shipper/api-token
{{- end }}

{{/* The generated token Secret (empty when disabled or an existing Secret is used). */}}
{{- define "shipper-lib.apiTokenSecret" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- if and (include "shipper-lib.apiTokenEnabled" .) (not $v.apiToken.existingSecret) -}}
{{- $name := include "shipper-lib.apiTokenSecretName" . -}}
{{- $key := $v.apiToken.key -}}
{{- $found := lookup "v1" "Secret" .root.Release.Namespace $name -}}
{{- $token := "" -}}
{{- if and $found $found.data (hasKey $found.data $key) -}}
{{- $token = index $found.data $key -}}
{{- else -}}
{{- $token = randAlphaNum 40 | b64enc -}}
{{- end -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ $name }}
  labels:
    app.kubernetes.io/component: log-shipper
    app.kubernetes.io/instance: {{ .root.Release.Name }}
type: Opaque
data:
  {{ $key }}: {{ $token | quote }}
{{- end -}}
{{- end }}
