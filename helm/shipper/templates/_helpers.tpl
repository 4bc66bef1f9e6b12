{{- define "shipper.name" -}}
{{- printf "%s" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end }}

{{/* The context every shipper-lib template takes. */}}
{{- define "shipper.ctx" -}}
{{- toYaml (dict "values" .Values.shipper) -}}
{{- end }}

{{- define "shipper.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "shipper.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "shipper.exampleImage" -}}
{{ .Values.example.image.repository }}:{{ .Values.example.image.tag }}
{{- end }}

{{/*
The pod spec body shared by the example Deployment and Job. Context:
(dict "root" $ "script" "<sh script>" "restartPolicy" "Always|Never" "env" list)
*/}}
{{- define "shipper.examplePodSpec" -}}
{{- $root := .root -}}
{{- $ctx := dict "root" $root "values" $root.Values.shipper -}}
{{- $v := $root.Values -}}
{{- if .restartPolicy }}
restartPolicy: {{ .restartPolicy }}
{{- end }}
enableServiceLinks: false
automountServiceAccountToken: {{ $v.shipper.k8sApi | default false }}
{{- if $v.shipper.k8sApi }}
serviceAccountName: {{ include "shipper-lib.serviceAccountName" $ctx }}
{{- end }}
terminationGracePeriodSeconds: {{ int $v.terminationGracePeriodSeconds }}
securityContext:
  {{- include "shipper-lib.podSecurityContext" $ctx | nindent 2 }}
{{- if eq (include "shipper-lib.isNative" $ctx) "true" }}
initContainers:
  {{- include "shipper-lib.initContainers" $ctx | nindent 2 }}
{{- end }}
containers:
  - name: {{ $v.shipper.appContainerName | default "app" }}
    image: {{ include "shipper.exampleImage" $root | quote }}
    imagePullPolicy: {{ $v.example.image.pullPolicy }}
    command: ["/bin/sh", "-c"]
    args:
      - |
        {{- .script | nindent 8 }}
    {{- with .env }}
    env:
      {{- toYaml . | nindent 6 }}
    {{- end }}
    resources:
      {{- toYaml $v.example.resources | nindent 6 }}
    securityContext:
      {{- include "shipper-lib.containerSecurityContext" $ctx | nindent 6 }}
    volumeMounts:
      {{- include "shipper-lib.appVolumeMounts" $ctx | nindent 6 }}
  {{- with include "shipper-lib.containers" $ctx }}
  {{- . | nindent 2 }}
  {{- end }}
volumes:
  {{- include "shipper-lib.volumes" $ctx | nindent 2 }}
{{- end }}

{{/* The example service: one info line per request and one debug health-check line (noise). */}}
{{- define "shipper.serviceScript" -}}
{{- $log := printf "%s/app.log" .Values.shipper.logsVolume.mountPath -}}
i=0
while true; do
  i=$((i+1))
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  echo "{\"timestamp\":\"$ts\",\"level\":\"info\",\"message\":\"served request $i\",\"job_id\":\"example-service\",\"correlation_id\":\"req-$i\"}" >> {{ $log }}
  echo "{\"timestamp\":\"$ts\",\"level\":\"debug\",\"message\":\"GET /healthz 200\"}" >> {{ $log }}
  sleep {{ int .Values.example.deployment.intervalSeconds }}
done
{{- end }}

{{/* The example Indexed Job shard: N info lines with job_id and shard_index, then exit. */}}
{{- define "shipper.jobScript" -}}
{{- $log := printf "%s/job.log" .Values.shipper.logsVolume.mountPath -}}
i=0
while [ "$i" -lt {{ int .Values.example.job.lines }} ]; do
  i=$((i+1))
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  echo "{\"timestamp\":\"$ts\",\"level\":\"info\",\"message\":\"shard $JOB_COMPLETION_INDEX step $i\",\"job_id\":\"$JOB_NAME\",\"shard_index\":$JOB_COMPLETION_INDEX}" >> {{ $log }}
  echo "{\"timestamp\":\"$ts\",\"level\":\"debug\",\"message\":\"heartbeat\"}" >> {{ $log }}
done
{{- end }}
