{{/* List items for the pod's `volumes:`: shared logs, state, tmp, podinfo, config, secrets,
the API token (optional: a missing Secret leaves /v1/* loopback-only, never blocks the pod). */}}
{{- define "shipper-lib.volumes" -}}
{{- $v := fromYaml (include "shipper-lib.values" .) -}}
- name: {{ $v.logsVolume.name }}
  emptyDir:
    sizeLimit: {{ $v.logsVolume.sizeLimit }}
- name: shipper-state
  emptyDir:
    sizeLimit: {{ $v.stateVolume.sizeLimit }}
- name: shipper-tmp
  emptyDir:
    sizeLimit: {{ $v.tmpVolume.sizeLimit }}
- name: shipper-podinfo
  downwardAPI:
    items:
      - path: labels
        fieldRef: {fieldPath: metadata.labels}
      - path: annotations
        fieldRef: {fieldPath: metadata.annotations}
- name: shipper-config
  configMap:
    name: {{ include "shipper-lib.configMapName" . }}
{{- if $v.credentials }}
- name: shipper-credentials
  projected:
    defaultMode: 288
    sources:
      {{- range $v.credentials }}
      - secret:
          name: {{ .secretName }}
          items:
            - key: {{ .key }}
              path: {{ .path | default .key }}
      {{- end }}
{{- end }}
{{- if include "shipper-lib.apiTokenEnabled" . }}
- name: shipper-api-token
  secret:
    secretName: {{ include "shipper-lib.apiTokenSecretName" . }}
    optional: true
    defaultMode: 288
    items:
      - key: {{ $v.apiToken.key }}
        path: token
{{- end }}
{{- end }}
