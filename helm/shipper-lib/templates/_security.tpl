{{/* Pod Security "restricted" contexts, shared by the sidecar and the charts' pods. */}}
{{- define "shipper-lib.podSecurityContext" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
runAsNonRoot: true
runAsUser: {{ int $v.uid }}
runAsGroup: {{ int $v.uid }}
fsGroup: {{ int $v.uid }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "shipper-lib.containerSecurityContext" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
runAsNonRoot: true
runAsUser: {{ int $v.uid }}
runAsGroup: {{ int $v.uid }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}
