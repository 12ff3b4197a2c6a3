{{/*
The name of the release's objects: the release name when it already holds the chart's name
(`helm install photostore-operator ...` names everything photostore-operator, as the plain
manifests do), else "<release>-photostore-operator". Cluster-wide objects (ClusterRole,
ClusterRoleBinding, ClusterKopfPeering) carry it, so two releases never share one.
*/}}
{{- define "photostore-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* What Helm adds to every object: the release that owns it. */}}
{{- define "photostore-operator.releaseLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "photostore-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "photostore-operator.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
{{ include "photostore-operator.releaseLabels" . }}
{{- end -}}

{{/* The namespaces the operator watches; none means all of them (cluster-wide RBAC). */}}
{{- define "photostore-operator.namespaced" -}}
{{- if .Values.watchNamespaces }}true{{ end -}}
{{- end -}}
