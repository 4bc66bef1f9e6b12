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
{{- $_ = set $c "server" (dict "listen" (printf "0.0.0.0:%d" (int $v.metricsPort))) -}}
{{- toYaml $c -}}
{{- end }}

{{/* Pod annotations: a checksum that rolls the pods when the config changes. */}}
{{- define "shipper-lib.podAnnotations" -}}
shipper.io/config-checksum: {{ include "shipper-lib.config" . | sha256sum | quote }}
{{- end }}

{{/* A complete ConfigMap manifest holding config.yaml. */}}
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
{{- end }}
