{{/* The chart name, truncated for label values. */}}
{{- define "herald.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The prefix of every resource name: release-chart, unless the release already names the chart. */}}
{{- define "herald.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "herald.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "herald.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "herald.selectorLabels" -}}
app.kubernetes.io/name: {{ include "herald.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one role: (dict "ctx" $ "role" "edge") */}}
{{- define "herald.roleSelectorLabels" -}}
{{ include "herald.selectorLabels" .ctx }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "herald.roleLabels" -}}
{{ include "herald.labels" .ctx }}
app.kubernetes.io/component: {{ .role }}
{{- end }}

{{- define "herald.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "herald.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "herald.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "herald.authSecretName" -}}
{{- default (printf "%s-auth" (include "herald.fullname" .)) .Values.auth.existingSecret }}
{{- end }}

{{/*
Seconds Kubernetes waits after the preStop hook starts before it kills a pod: the preStop
pause, then Herald's own shutdown deadline (HERALD_DRAIN_SECONDS + HERALD_JOB_TIMEOUT_MS
+ 10 s, after which a process exits by itself), plus 5 s of margin.
*/}}
{{- define "herald.terminationGrace" -}}
{{- $job := divf .ctx.Values.config.jobTimeoutMs 1000 | ceil | int }}
{{- add .preStop (.ctx.Values.config.drainSeconds | ceil | int) $job 15 }}
{{- end }}

{{/* REDIS_URL: from a Secret, or from redis.url, which must carry no password. */}}
{{- define "herald.redisEnv" -}}
{{- if .Values.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.existingSecretKey }}
{{- else }}
{{- if regexMatch "://[^/@]*:[^/@]*@" .Values.redis.url }}
{{- fail "redis.url carries a password: put the whole URL in a Secret and name it in redis.existingSecret" }}
{{- end }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- end }}
{{- end }}

{{/* Spread a role's pods across zones, then nodes. */}}
{{- define "herald.topologySpread" -}}
{{- if .ctx.Values.topologySpread.enabled }}
topologySpreadConstraints:
  {{- range list "topology.kubernetes.io/zone" "kubernetes.io/hostname" }}
  - maxSkew: {{ $.ctx.Values.topologySpread.maxSkew }}
    topologyKey: {{ . }}
    whenUnsatisfiable: {{ $.ctx.Values.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "herald.roleSelectorLabels" $ | nindent 8 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* Checks of value combinations a schema cannot express simply. */}}
{{- define "herald.validate" -}}
{{- if and .Values.worker.keda.enabled .Values.worker.autoscaling.enabled }}
{{- fail "worker.keda.enabled and worker.autoscaling.enabled exclude each other: KEDA makes its own HorizontalPodAutoscaler" }}
{{- end }}
{{- end }}
