{{/*
The shipper's config.yaml, built from `values.config` (paths, sinks, filters presets and
rules, redact, ...). The keys that must match the pod layout are set here.
*/}}
{{- define "shipper-lib.config" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- $c := deepCopy ($v.config | default dict) -}}
{{- if not $c.paths -}}
{{- $_ := set $c "paths" (list (printf "%s/**/*.log" $v.logsVolume.mountPath)) -}}
{{- end -}}
{{- $_ := set $c "podinfo_dir" "/etc/podinfo" -}}
{{- $_ = set $c "state_dir" "/var/lib/shipper" -}}
{{- $_ = set $c "k8s_api" $v.k8sApi -}}
{{- $server := dict "listen" (printf "0.0.0.0:%d" (int $v.metricsPort)) -}}
{{- if include "shipper-lib.apiTokenEnabled" . -}}
{{- $_ = set $server "token_file" (printf "%s/token" (include "shipper-lib.apiTokenDir" .)) -}}
{{- end -}}
{{- $_ = set $c "server" $server -}}
{{- toYaml $c -}}
{{- end }}

{{/* Pod annotations: a checksum that rolls the pods when the config changes. */}}
{{- define "shipper-lib.podAnnotations" -}}
shipper.io/config-checksum: {{ include "shipper-lib.config" . | sha256sum | quote }}
{{- end }}

{{/* A complete ConfigMap manifest holding config.yaml, followed by the generated API
token Secret when there is one (see _token.tpl). */}}
{{- define "shipper-lib.configMap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "shipper-lib.configMapName" . }}
  labels:
    app.kubernetes.io/component: log-shipper
    app.kubernetes.io/instance: {{ .root.Release.Name }}
data:
  config.yaml: |
    {{- include "shipper-lib.config" . | nindent 4 }}
{{- with include "shipper-lib.apiTokenSecret" . }}
---
{{ . }}
{{- end }}
{{- end }}
