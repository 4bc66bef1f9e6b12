{{/*
Defaults of the sidecar values. A chart passes its own (partial) values in the context
dict ("values"); they are merged over these. No boolean here defaults to true, because
an explicit `false` never overrides in Helm's merge.
*/}}
{{- define "shipper-lib.defaults" -}}
image:
  repository: ghcr.io/shipper-logs/shipper
  tag: "0.1.0"
  digest: ""
  pullPolicy: IfNotPresent
containerName: shipper
appContainerName: app
sidecarMode: auto
uid: 65532
metricsPort: 9102
configMapName: ""
serviceAccountName: ""
k8sApi: false
logsVolume:
  name: shipper-logs
  mountPath: /var/log/app
  sizeLimit: 1Gi
stateVolume:
  sizeLimit: 256Mi
tmpVolume:
  sizeLimit: 64Mi
resources:
  requests:
    cpu: 50m
    memory: 64Mi
  limits:
    memory: 256Mi
probes:
  startup:
    periodSeconds: 2
    failureThreshold: 30
  liveness:
    periodSeconds: 10
    failureThreshold: 3
  readiness:
    periodSeconds: 5
    failureThreshold: 3
credentials: []
apiToken:
  existingSecret: ""
  key: token
  disabled: false
extraEnv: []
config: {}
{{- end }}

{{/* The effective sidecar values (YAML); use with fromYaml. */}}
{{- define "shipper-lib.values" -}}
{{- $defaults := fromYaml (include "shipper-lib.defaults" .) -}}
{{- $user := deepCopy (.values | default dict) -}}
{{- toYaml (mergeOverwrite $defaults $user) -}}
{{- end }}

{{/* "true" when the sidecar is a native sidecar (init container, restartPolicy Always). */}}
{{- define "shipper-lib.isNative" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- if eq $v.sidecarMode "native" -}}true
{{- else if eq $v.sidecarMode "container" -}}false
{{- else if semverCompare ">=1.29-0" .root.Capabilities.KubeVersion.Version -}}true
{{- else -}}false
{{- end -}}
{{- end }}

{{- define "shipper-lib.configMapName" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- $v.configMapName | default (printf "%s-shipper" .root.Release.Name) | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "shipper-lib.serviceAccountName" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- $v.serviceAccountName | default (printf "%s-shipper" .root.Release.Name) | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "shipper-lib.image" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
{{- if $v.image.digest -}}
{{ $v.image.repository }}@{{ $v.image.digest }}
{{- else -}}
{{ $v.image.repository }}:{{ $v.image.tag }}
{{- end -}}
{{- end }}
