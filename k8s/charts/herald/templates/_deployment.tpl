{{/*
One role's Deployment: (dict "ctx" $ "role" "edge"|"worker"). Edges and workers differ in
their ports, their secrets and their replica source; the rest (security, probes, drain,
spread, config checksum) is the same.
*/}}
{{- define "herald.deployment" -}}
{{- $ := .ctx }}
{{- $role := .role }}
{{- $v := index $.Values $role }}
{{- $probePort := ternary "http" "metrics" (eq $role "edge") }}
{{- $scaled := or $v.autoscaling.enabled (and (eq $role "worker") $.Values.worker.keda.enabled) }}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "herald.fullname" $ }}-{{ $role }}
  labels:
    {{- include "herald.roleLabels" . | nindent 4 }}
spec:
  {{- if not $scaled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 25%
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "herald.roleSelectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "herald.roleSelectorLabels" . | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include (print $.Template.BasePath "/configmap.yaml") $ | sha256sum }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "herald.serviceAccountName" $ }}
      automountServiceAccountToken: false
      {{- with $.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ include "herald.terminationGrace" (dict "ctx" $ "preStop" $v.preStopSeconds) }}
      {{- include "herald.topologySpread" . | trim | nindent 6 }}
      containers:
        - name: {{ $role }}
          image: {{ include "herald.image" $ | quote }}
          imagePullPolicy: {{ $.Values.image.pullPolicy }}
          args: [{{ $role | quote }}]
          securityContext:
            {{- toYaml $.Values.securityContext | nindent 12 }}
          ports:
            {{- if eq $role "edge" }}
            - name: http
              containerPort: {{ $v.port }}
              protocol: TCP
            {{- end }}
            - name: metrics
              containerPort: {{ $v.metricsPort }}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: {{ include "herald.fullname" $ }}
          env:
            {{- include "herald.redisEnv" $ | trim | nindent 12 }}
            {{- if eq $role "edge" }}
            - name: HERALD_PORT
              value: {{ $v.port | quote }}
            - name: HERALD_EDGE_METRICS_PORT
              value: {{ $v.metricsPort | quote }}
            - name: HERALD_JWT_SECRET
              valueFrom:
                secretKeyRef:
                  name: {{ include "herald.authSecretName" $ }}
                  key: {{ $.Values.auth.jwtSecretKey }}
            - name: HERALD_API_KEYS
              valueFrom:
                secretKeyRef:
                  name: {{ include "herald.authSecretName" $ }}
                  key: {{ $.Values.auth.apiKeysKey }}
            {{- else }}
            - name: HERALD_METRICS_PORT
              value: {{ $v.metricsPort | quote }}
            {{- end }}
          startupProbe:
            httpGet:
              path: /healthz
              port: {{ $probePort }}
            periodSeconds: 2
            failureThreshold: 30
          readinessProbe:
            httpGet:
              path: /readyz
              port: {{ $probePort }}
            periodSeconds: 5
            timeoutSeconds: 2
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: {{ $probePort }}
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          lifecycle:
            preStop:
              exec:
                command: ["sleep", {{ $v.preStopSeconds | quote }}]
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end }}
