{{/*
The sidecar container as a mapping (no leading dash). Context:
  (dict "root" $ "values" .Values.shipper)
Prefer "shipper-lib.initContainers" / "shipper-lib.containers", which place it.
*/}}
{{- define "shipper-lib.container" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
name: {{ $v.containerName }}
image: {{ include "shipper-lib.image" . | quote }}
imagePullPolicy: {{ $v.image.pullPolicy }}
{{- if eq (include "shipper-lib.isNative" .) "true" }}
restartPolicy: Always
{{- end }}
args: ["run", "--config", "/etc/shipper/config.yaml"]
ports:
  - name: shipper-metrics
    containerPort: {{ int $v.metricsPort }}
    protocol: TCP
env:
  {{- include "shipper-lib.env" . | nindent 2 }}
resources:
  {{- toYaml $v.resources | nindent 2 }}
securityContext:
  {{- include "shipper-lib.containerSecurityContext" . | nindent 2 }}
startupProbe:
  httpGet: {path: /readyz, port: shipper-metrics}
  periodSeconds: {{ int $v.probes.startup.periodSeconds }}
  failureThreshold: {{ int $v.probes.startup.failureThreshold }}
livenessProbe:
  httpGet: {path: /healthz, port: shipper-metrics}
  periodSeconds: {{ int $v.probes.liveness.periodSeconds }}
  failureThreshold: {{ int $v.probes.liveness.failureThreshold }}
readinessProbe:
  httpGet: {path: /readyz, port: shipper-metrics}
  periodSeconds: {{ int $v.probes.readiness.periodSeconds }}
  failureThreshold: {{ int $v.probes.readiness.failureThreshold }}
volumeMounts:
  - {name: {{ $v.logsVolume.name }}, mountPath: {{ $v.logsVolume.mountPath }}, readOnly: true}
  - {name: shipper-state, mountPath: /var/lib/shipper}
  - {name: shipper-tmp, mountPath: /tmp}
  - {name: shipper-podinfo, mountPath: /etc/podinfo, readOnly: true}
  - {name: shipper-config, mountPath: /etc/shipper, readOnly: true}
  {{- if $v.credentials }}
  - {name: shipper-credentials, mountPath: /etc/shipper/secrets, readOnly: true}
  {{- end }}
  {{- if include "shipper-lib.apiTokenEnabled" . }}
  - {name: shipper-api-token, mountPath: {{ include "shipper-lib.apiTokenDir" . }}, readOnly: true}
  {{- end }}
{{- end }}

{{/* The downward-API env; JOB_COMPLETION_INDEX is set by the Job controller itself. */}}
{{- define "shipper-lib.env" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: POD_UID
  valueFrom: {fieldRef: {fieldPath: metadata.uid}}
- name: NODE_NAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
- name: POD_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
- name: CONTAINER_NAME
  value: {{ $v.appContainerName | quote }}
{{- with $v.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* List items for `initContainers:` (the native sidecar), empty otherwise. */}}
{{- define "shipper-lib.initContainers" -}}
{{- if eq (include "shipper-lib.isNative" .) "true" -}}
- {{ include "shipper-lib.container" . | indent 2 | trim }}
{{- end -}}
{{- end }}

{{/* List items for `containers:` (the classic sidecar), empty otherwise. */}}
{{- define "shipper-lib.containers" -}}
{{- if ne (include "shipper-lib.isNative" .) "true" -}}
- {{ include "shipper-lib.container" . | indent 2 | trim }}
{{- end -}}
{{- end }}

{{/* The mount the application container writes its log files to. */}}
{{- define "shipper-lib.appVolumeMounts" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
- name: {{ $v.logsVolume.name }}
  mountPath: {{ $v.logsVolume.mountPath }}
{{- end }}
